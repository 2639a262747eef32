/**
 * BatchGetItem for any number of keys: 100 keys a request, in parallel, each
 * retrying its unprocessed keys with backoff (DynamoDB hands back what it could
 * not read under throttling instead of failing the call).
 */
import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { call } from './errors';

type Item = Record<string, unknown>;

export const BATCH_GET_SIZE = 100;
export const MAX_UNPROCESSED_ROUNDS = 10;

export interface BatchGetOptions {
  /** Attribute names to read (the key attributes are always read); all when absent. */
  attributes?: readonly string[];
}

/** The items at these keys that exist, strongly consistent, in no particular order. */
export async function batchGetAll(
  db: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Item[],
  options: BatchGetOptions = {},
): Promise<Item[]> {
  const chunks: Item[][] = [];
  for (let i = 0; i < keys.length; i += BATCH_GET_SIZE) chunks.push(keys.slice(i, i + BATCH_GET_SIZE));
  const found = await Promise.all(chunks.map((chunk) => batchGetChunk(db, tableName, chunk, options)));
  return found.flat();
}

async function batchGetChunk(db: DynamoDBDocumentClient, tableName: string, keys: Item[], options: BatchGetOptions) {
  const projection = options.attributes && {
    ProjectionExpression: options.attributes.map((_, i) => `#a${i}`).join(', '),
    ExpressionAttributeNames: Object.fromEntries(options.attributes.map((name, i) => [`#a${i}`, name])),
  };
  const items: Item[] = [];
  let pending = keys;
  for (let round = 0; pending.length > 0; round++) {
    if (round === MAX_UNPROCESSED_ROUNDS) throw new Error(`${pending.length} keys stayed unprocessed after ${round} rounds`);
    if (round > 0) await backoff(round);
    const { Responses, UnprocessedKeys } = await call(() =>
      db.send(new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true, ...projection } } })),
    );
    items.push(...(Responses?.[tableName] ?? []));
    pending = (UnprocessedKeys?.[tableName]?.Keys ?? []) as Item[];
  }
  return items;
}

/** Full jitter, capped at a second. */
export const backoff = (round: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** round) * Math.random()));
