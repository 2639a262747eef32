/**
 * Capacity as DynamoDB would bill it, added up per partition key value (of a
 * table or of an index) and per operation. The proxy records; tests and the
 * benchmark read.
 */
import type { Charge, Partition } from './capacity';

export interface PartitionUsage extends Partition {
  wcu: number;
  rcu: number;
  /** Requests (or batch items) refused because this key's bucket was empty. */
  throttled: number;
}

export interface OperationUsage {
  /** Requests received, throttled ones included. */
  calls: number;
  /** Requests answered with ProvisionedThroughputExceededException. */
  throttled: number;
  /** Batch items handed back in UnprocessedItems or UnprocessedKeys. */
  unprocessed: number;
  wcu: number;
  rcu: number;
}

/** A Scan reads across partitions, so it is kept apart from the per-key figures. */
export interface ScanUsage {
  table: string;
  index?: string;
  calls: number;
  rcu: number;
}

const partitionId = ({ table, index, partitionKey }: Partition): string =>
  `${table}\u0000${index ?? ''}\u0000${partitionKey}`;

export class CapacityMeter {
  private partitions = new Map<string, PartitionUsage>();
  private operationTotals = new Map<string, OperationUsage>();
  private scanTotals = new Map<string, ScanUsage>();

  /** Every partition key value that was charged or throttled. */
  keys(): PartitionUsage[] {
    return [...this.partitions.values()].map((usage) => ({ ...usage }));
  }

  /** The totals of one partition key value (zeros if it was never charged). */
  usage(partition: Partition): PartitionUsage {
    const usage = this.partitions.get(partitionId(partition));
    return usage ? { ...usage } : { ...partition, wcu: 0, rcu: 0, throttled: 0 };
  }

  /** The key with the most write units (kind 'write') or read units (kind 'read'). */
  hottest(kind: Charge['kind']): PartitionUsage | undefined {
    const units = (usage: PartitionUsage) => (kind === 'write' ? usage.wcu : usage.rcu);
    const charged = this.keys().filter((usage) => units(usage) > 0);
    return charged.reduce<PartitionUsage | undefined>((top, usage) => (!top || units(usage) > units(top) ? usage : top), undefined);
  }

  operations(): Record<string, OperationUsage> {
    return Object.fromEntries([...this.operationTotals].map(([name, usage]) => [name, { ...usage }]));
  }

  scans(): ScanUsage[] {
    return [...this.scanTotals.values()].map((usage) => ({ ...usage }));
  }

  /** Everything billed since the last reset, Scans included. */
  totals(): { wcu: number; rcu: number } {
    const all = [...this.operationTotals.values()];
    return { wcu: all.reduce((s, u) => s + u.wcu, 0), rcu: all.reduce((s, u) => s + u.rcu, 0) };
  }

  reset(): void {
    this.partitions = new Map();
    this.operationTotals = new Map();
    this.scanTotals = new Map();
  }

  /** The proxy's side from here on: one request of `operation` arrived. */
  called(operation: string): void {
    this.operation(operation).calls += 1;
  }

  charge(operation: string, charges: readonly Charge[]): void {
    const totals = this.operation(operation);
    for (const charge of charges) {
      const usage = this.partition(charge);
      if (charge.kind === 'write') {
        usage.wcu += charge.units;
        totals.wcu += charge.units;
      } else {
        usage.rcu += charge.units;
        totals.rcu += charge.units;
      }
    }
  }

  /** `partitions` were over their rate; `refused` tells whether the whole request was. */
  throttled(operation: string, partitions: readonly Partition[], refused: boolean): void {
    for (const partition of partitions) this.partition(partition).throttled += 1;
    if (refused) this.operation(operation).throttled += 1;
  }

  unprocessed(operation: string, count: number): void {
    this.operation(operation).unprocessed += count;
  }

  scanned(table: string, index: string | undefined, units: number): void {
    const id = `${table}\u0000${index ?? ''}`;
    let usage = this.scanTotals.get(id);
    if (!usage) this.scanTotals.set(id, (usage = index ? { table, index, calls: 0, rcu: 0 } : { table, calls: 0, rcu: 0 }));
    usage.calls += 1;
    usage.rcu += units;
    this.operation('Scan').rcu += units;
  }

  private partition(partition: Partition): PartitionUsage {
    const id = partitionId(partition);
    let usage = this.partitions.get(id);
    if (!usage) {
      const { table, index, partitionKey } = partition;
      usage = { ...(index ? { table, index } : { table }), partitionKey, wcu: 0, rcu: 0, throttled: 0 };
      this.partitions.set(id, usage);
    }
    return usage;
  }

  private operation(name: string): OperationUsage {
    let usage = this.operationTotals.get(name);
    if (!usage) this.operationTotals.set(name, (usage = { calls: 0, throttled: 0, unprocessed: 0, wcu: 0, rcu: 0 }));
    return usage;
  }
}

/** What tests and the benchmark see of the meter: its readings, and reset. */
export type MeterReadings = Pick<CapacityMeter, 'keys' | 'usage' | 'hottest' | 'operations' | 'scans' | 'totals' | 'reset'>;
