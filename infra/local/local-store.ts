/**
 * The embedded DynamoDB-compatible store (dynalite) and the table made from
 * the same definition the CDK stack uses (shared/data/table.ts).
 */
import { CreateTableCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import type { AddressInfo } from 'node:net';
import { createDynamoClient } from '../../shared/data/client';
import { createTableInput } from '../../shared/data/table';
import { tableStatus } from '../../shared/data/table-status';

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

/** Creates the table unless it exists and waits until it is usable; returns true if it was created. */
export async function ensureTable(endpoint: string, tableName: string): Promise<boolean> {
  const client = createDynamoClient({ endpoint });
  try {
    const table = await tableStatus(client, tableName);
    if (table.status === 'ready') return false;
    if (table.status !== 'missing') throw table.error;
    await client.send(new CreateTableCommand(createTableInput(tableName)));
    // A CREATING table answers ResourceNotFoundException: return only once it is ACTIVE.
    await waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 0.05, maxDelay: 1 }, { TableName: tableName });
    return true;
  } finally {
    client.destroy();
  }
}
