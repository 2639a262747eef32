/**
 * The little the proxy must read out of DynamoDB expressions: which partition
 * key value a Query reads, what an update does to an index key (to know which
 * index partitions a write will touch before sending it), and a read without
 * its filter and projection (to size what DynamoDB bills for).
 */
import type { AttributeValue, Body, Item } from './wire';

type Names = Record<string, string>;

const namesOf = (request: Body): Names => (request.ExpressionAttributeNames ?? {}) as Names;
const valuesOf = (request: Body): Item => (request.ExpressionAttributeValues ?? {}) as Item;
const resolve = (names: Names, path: string): string | undefined => (path.startsWith('#') ? names[path] : path);

/** The value a Query's key condition requires of `attribute` (the partition key), in either syntax. */
export function queryPartitionValue(request: Body, attribute: string): AttributeValue | undefined {
  const names = namesOf(request);
  const values = valuesOf(request);
  const condition = typeof request.KeyConditionExpression === 'string' ? request.KeyConditionExpression : '';
  for (const [, left = '', right = ''] of condition.matchAll(/([#:\w]+)\s*=\s*([#:\w]+)/g)) {
    if (resolve(names, left) === attribute && values[right]) return values[right];
    if (resolve(names, right) === attribute && values[left]) return values[left];
  }
  const legacy = (request.KeyConditions as Record<string, { AttributeValueList?: AttributeValue[] }> | undefined)?.[attribute];
  return legacy?.AttributeValueList?.[0];
}

/** Splits at commas outside parentheses: `a = :a, b = if_not_exists(b, :b)` has two actions. */
function topLevelParts(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    else if (text[i] === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((part) => part.trim()).filter(Boolean);
}

/**
 * The value `attribute` will hold after this UpdateItem, when the update says so plainly
 * (`SET a = :v`, `SET a = if_not_exists(a, :v)`, `REMOVE a`, or the legacy AttributeUpdates);
 * otherwise (arithmetic, list functions, not mentioned) the value it holds before.
 */
export function valueAfterUpdate(request: Body, attribute: string, before: Item | undefined): AttributeValue | undefined {
  const unchanged = before?.[attribute];
  const legacy = (request.AttributeUpdates as Record<string, { Action?: string; Value?: AttributeValue }> | undefined)?.[attribute];
  if (legacy) return legacy.Action === 'DELETE' ? undefined : legacy.Action === 'ADD' ? unchanged : legacy.Value;
  if (typeof request.UpdateExpression !== 'string') return unchanged;

  const names = namesOf(request);
  const values = valuesOf(request);
  // [text before the first clause, keyword, actions, keyword, actions, …]
  const clauses = request.UpdateExpression.split(/(?<![#:\w])(SET|REMOVE|ADD|DELETE)(?!\w)/i);
  for (let i = 1; i < clauses.length; i += 2) {
    const keyword = clauses[i]!.toUpperCase();
    for (const action of topLevelParts(clauses[i + 1] ?? '')) {
      if (keyword === 'REMOVE' && resolve(names, action) === attribute) return undefined;
      if (keyword !== 'SET') continue;
      const [path = '', operand = ''] = action.split(/=(.*)/s).map((side) => side.trim());
      if (resolve(names, path) !== attribute) continue;
      if (values[operand]) return values[operand];
      const ifNotExists = /^if_not_exists\s*\(\s*([#\w]+)\s*,\s*(:\w+)\s*\)$/i.exec(operand);
      if (ifNotExists && resolve(names, ifNotExists[1]!) === attribute) return unchanged ?? values[ifNotExists[2]!];
      return unchanged;
    }
  }
  return unchanged;
}

const PROJECTION_FIELDS = ['ProjectionExpression', 'AttributesToGet'];
const FILTER_FIELDS = ['FilterExpression', 'QueryFilter', 'ScanFilter', 'ConditionalOperator'];
const NARROWING_FIELDS = [...PROJECTION_FIELDS, ...FILTER_FIELDS];
const WHOLE_ITEMS = new Set([undefined, 'ALL_ATTRIBUTES', 'ALL_PROJECTED_ATTRIBUTES']);

/** True when a read returns only some attributes of the items it returns (a projection, or a count). */
export const narrowsAttributes = (request: Body): boolean =>
  PROJECTION_FIELDS.some((field) => field in request) || !WHOLE_ITEMS.has(request.Select as string | undefined);

/** True when a read has a filter. */
export const filters = (request: Body): boolean => FILTER_FIELDS.some((field) => field in request);

/** True when a read returns less than what it reads: a filter, a projection, or a count. */
export const narrowsItems = (request: Body): boolean => narrowsAttributes(request) || filters(request);

/**
 * The same Query or Scan returning every item it reads. DynamoDB developer guide, "DynamoDB read
 * and write operations": a filter, a projection or a count does not change what a read costs.
 */
export function readingEverything(request: Body): Body {
  const rest = Object.fromEntries(
    Object.entries(request).filter(
      ([field]) => ![...NARROWING_FIELDS, 'Select', 'ExpressionAttributeNames', 'ExpressionAttributeValues'].includes(field),
    ),
  );
  // Only the key condition is left; DynamoDB refuses names and values no expression uses.
  const keyCondition = typeof request.KeyConditionExpression === 'string' ? request.KeyConditionExpression : '';
  const used = (map: Record<string, unknown>, prefix: string) =>
    Object.fromEntries(Object.entries(map).filter(([token]) => token.startsWith(prefix) && new RegExp(`${token}\\b`).test(keyCondition)));
  const names = used(namesOf(request), '#');
  const values = used(valuesOf(request), ':');
  return {
    ...rest,
    ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
    ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
  };
}
