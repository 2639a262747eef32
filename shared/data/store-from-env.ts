/**
 * The table the handlers use, resolved once per container from the
 * environment (TABLE_NAME; SHARD_COUNT, the shards a new batch gets, set by
 * the stack; DYNAMODB_ENDPOINT for the local store). Each handler builds the
 * store of its own operation on it (shared/data/dynamo-store.ts). Locally the
 * three handlers share this one client; tests attach SDK middleware to it to
 * count or break calls.
 */
import { requireEnv } from '../config';
import { createClientFromEnv } from './client';
import { tableOf } from './dynamo-store';

export const documentClient = createClientFromEnv();

export const table = tableOf(documentClient, requireEnv('TABLE_NAME'), {
  shards: process.env.SHARD_COUNT ? Number(process.env.SHARD_COUNT) : undefined,
});
