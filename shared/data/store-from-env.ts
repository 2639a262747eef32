/**
 * The store the handlers use, built once per container from the environment
 * (TABLE_NAME, and DYNAMODB_ENDPOINT for the local store). Locally the three
 * handlers share this one client; tests attach SDK middleware to it to count
 * or break calls.
 */
import { requireEnv } from '../config';
import { createClientFromEnv } from './client';
import { DynamoSessionStore } from './dynamo-store';

export const documentClient = createClientFromEnv();

export const store = new DynamoSessionStore(documentClient, requireEnv('TABLE_NAME'));
