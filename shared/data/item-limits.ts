/**
 * DynamoDB's limits on what an item may hold, checked before writing so that
 * bad data is a rejected line, not a ValidationException mid-import.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html
 */
export const MAX_ITEM_BYTES = 400 * 1024;
const MAX_DEPTH = 32;
const MAX_NUMBER = 9.9999999999999999e125;
const MIN_POSITIVE_NUMBER = 1e-130;

/** An item's size as DynamoDB counts it: names and values in UTF-8, numbers by digits, containers with overhead. */
export function itemBytes(item: Record<string, unknown>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) bytes += Buffer.byteLength(name) + valueBytes(value);
  return bytes;
}

function valueBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') return Math.ceil(String(Math.abs(value)).replace(/[.e+-]/g, '').length / 2) + 1;
  if (typeof value === 'boolean' || value === null) return 1;
  if (Array.isArray(value)) return 3 + value.reduce<number>((sum, v) => sum + 1 + valueBytes(v), 0);
  if (typeof value === 'object') {
    return 3 + Object.entries(value as object).reduce((sum, [k, v]) => sum + 1 + Buffer.byteLength(k) + valueBytes(v), 0);
  }
  return 0;
}

/** Why DynamoDB would refuse this value (nesting or number range), or undefined if it would not. */
export function valueProblem(value: unknown, path = '', depth = 0): string | undefined {
  if (depth > MAX_DEPTH) return `${path || 'value'} is nested more than ${MAX_DEPTH} levels deep`;
  if (typeof value === 'number') {
    const magnitude = Math.abs(value);
    if (magnitude > MAX_NUMBER || (magnitude !== 0 && magnitude < MIN_POSITIVE_NUMBER)) {
      return `${path || 'value'} is a number DynamoDB cannot store (${value})`;
    }
  }
  if (value && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      const problem = valueProblem(child, path ? `${path}.${key}` : key, depth + 1);
      if (problem) return problem;
    }
  }
  return undefined;
}

/** Why DynamoDB would refuse this item, or undefined. */
export function itemProblem(item: Record<string, unknown>): string | undefined {
  const problem = valueProblem(item);
  if (problem) return problem;
  const bytes = itemBytes(item);
  if (bytes > MAX_ITEM_BYTES) return `item is ${bytes} bytes, over DynamoDB's ${MAX_ITEM_BYTES}-byte limit`;
  return undefined;
}
