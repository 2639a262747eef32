/**
 * The little the proxy must read out of DynamoDB expressions: which partition
 * key value a Query reads, and a read without its filter and projection (to
 * size what DynamoDB bills for).
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

const PROJECTION_FIELDS = ['ProjectionExpression', 'AttributesToGet'];
const FILTER_FIELDS = ['FilterExpression', 'QueryFilter', 'ScanFilter', 'ConditionalOperator'];
const NARROWING_FIELDS = [...PROJECTION_FIELDS, ...FILTER_FIELDS];
const WHOLE_ITEMS = new Set([undefined, 'ALL_ATTRIBUTES', 'ALL_PROJECTED_ATTRIBUTES']);

/** True when a read returns only some attributes of the items it returns (a projection, or a count). */
export const narrowsAttributes = (request: Body): boolean =>
  PROJECTION_FIELDS.some((field) => field in request) || !WHOLE_ITEMS.has(request.Select as string | undefined);

/** True when a read returns less than what it reads: a filter, a projection, or a count. */
export const narrowsItems = (request: Body): boolean =>
  narrowsAttributes(request) || FILTER_FIELDS.some((field) => field in request);

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
