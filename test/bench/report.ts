/**
 * Budgets, the printed table and bench-report.json. A budget is a named
 * figure with a limit; the run fails if any is missed.
 */
import { writeFileSync } from 'node:fs';

export interface Budget {
  name: string;
  value: number;
  limit: number;
  pass: boolean;
}

export type BudgetKind = 'max' | 'min';

export function budget(name: string, value: number, limit: number, kind: BudgetKind): Budget {
  return { name, value: round(value, 3), limit, pass: kind === 'max' ? value <= limit : value >= limit };
}

const OPERATOR: Record<BudgetKind, string> = { max: '≤', min: '≥' };

export function printBudgets(budgets: readonly (Budget & { kind: BudgetKind; note: string })[]): void {
  const rows = budgets.map((b) => [
    b.name,
    String(b.value),
    `${OPERATOR[b.kind]} ${b.limit}`,
    b.pass ? 'pass' : 'FAIL',
    b.note,
  ]);
  printTable(['budget', 'value', 'limit', 'result', 'measured as'], rows);
}

export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

export function writeReport(file: string, report: { budgets: Budget[] } & Record<string, unknown>): void {
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}

export const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
