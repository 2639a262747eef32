/**
 * DynamoDB's limits on what an item may hold, checked before writing so that
 * bad data is a rejected line, not a ValidationException mid-import.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html
 */
import { batchIdOf } from '../domain/model';
import { legacyAssignmentAttributes } from './items';

const DYNAMODB_MAX_ITEM_BYTES = 400 * 1024;
/**
 * The most the counter layout (before sharding) added to a session item to
 * schedule it: kept free, so that during an upgrade a version still running
 * that layout can schedule any stored session. The sharded layout never grows it.
 */
const ASSIGNMENT_BYTES = itemBytes(
  legacyAssignmentAttributes(batchIdOf(Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER, 999_999_999_999),
);
export const MAX_ITEM_BYTES = DYNAMODB_MAX_ITEM_BYTES - ASSIGNMENT_BYTES;
const MAX_DEPTH = 32;
/** The DocumentClient refuses to write (and cannot read back) numbers beyond this without NumberValue. */
const MAX_NUMBER = Number.MAX_SAFE_INTEGER;
const MIN_POSITIVE_NUMBER = 1e-130;
/** With the u flag a surrogate pair is one code point, so only an unpaired half matches. */
const LONE_SURROGATE = /\p{Surrogate}/u;

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
  // A lone UTF-16 surrogate has no UTF-8 form: the store would keep U+FFFD instead of what was sent.
  if (typeof value === 'string' && LONE_SURROGATE.test(value)) return `${path || 'value'} has a lone UTF-16 surrogate`;
  if (typeof value === 'number') {
    const magnitude = Math.abs(value);
    if (magnitude > MAX_NUMBER || (magnitude !== 0 && magnitude < MIN_POSITIVE_NUMBER)) {
      return `${path || 'value'} is a number that cannot be stored (${value}): beyond ±${MAX_NUMBER} or closer to 0 than ${MIN_POSITIVE_NUMBER}`;
    }
  }
  if (value && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (LONE_SURROGATE.test(key)) return `${path || 'value'} has a key with a lone UTF-16 surrogate`;
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
  if (bytes > MAX_ITEM_BYTES) {
    return `item is ${bytes} bytes, over the ${MAX_ITEM_BYTES}-byte limit (DynamoDB's 400 KB less room for the batch assignment)`;
  }
  return undefined;
}
