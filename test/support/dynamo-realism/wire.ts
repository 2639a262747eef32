/**
 * The parts of DynamoDB's JSON 1.0 protocol the proxy reads, as they travel:
 * numbers as strings, binary as base64.
 */
export type AttributeValue =
  | { S: string }
  | { N: string }
  | { B: string }
  | { BOOL: boolean }
  | { NULL: boolean }
  | { L: AttributeValue[] }
  | { M: Item }
  | { SS: string[] }
  | { NS: string[] }
  | { BS: string[] };

export type Item = Record<string, AttributeValue>;

/** A request or response body: the proxy reads the fields it knows and passes the rest through. */
export type Body = Record<string, unknown>;

/** The error type DynamoDB puts in `__type`, e.g. "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException". */
export const errorName = (body: Body): string | undefined =>
  typeof body.__type === 'string' ? body.__type.split('#').pop() : undefined;
