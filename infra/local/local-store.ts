/**
 * The embedded DynamoDB-compatible store (dynalite) and the table made from
 * the same definition the CDK stack uses (shared/data/table.ts).
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  waitUntilTableExists,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import type { AddressInfo } from 'node:net';
import { createDynamoClient } from '../../shared/data/client';
import { KEY_ATTRIBUTE_TYPES, TABLE } from '../../shared/data/table';

export interface LocalStore {
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

/** Starts dynalite on 127.0.0.1:port (0 = any free port), in memory or persisted under `path`. */
export async function startLocalStore(options: { port?: number; path?: string } = {}): Promise<LocalStore> {
  const server = dynalite({ path: options.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}

export function createTableInput(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: Object.entries(KEY_ATTRIBUTE_TYPES).map(([AttributeName, AttributeType]) => ({
      AttributeName,
      AttributeType,
    })),
    KeySchema: [
      { AttributeName: TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: TABLE.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: TABLE.gsi1.indexName,
        KeySchema: [
          { AttributeName: TABLE.gsi1.partitionKey, KeyType: 'HASH' },
          { AttributeName: TABLE.gsi1.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
  };
}

/** Creates the table unless it exists and waits until it is usable; returns true if it was created. */
export async function ensureTable(endpoint: string, tableName: string): Promise<boolean> {
  const client = createDynamoClient({ endpoint });
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return false;
  } catch (error) {
    if ((error as Error).name !== 'ResourceNotFoundException') throw error;
    await client.send(new CreateTableCommand(createTableInput(tableName)));
    // A CREATING table answers ResourceNotFoundException: return only once it is ACTIVE.
    await waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 0.05, maxDelay: 1 }, { TableName: tableName });
    return true;
  } finally {
    client.destroy();
  }
}
