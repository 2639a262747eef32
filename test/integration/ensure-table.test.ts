/**
 * ensureTable must hand back a table that is ready. DynamoDB, and dynalite,
 * answer ResourceNotFoundException while a new table is still CREATING; with
 * the local store's createTableMs of 0 that window is short but real (it made
 * `npm start` fail now and then when it seeded right after creating the table).
 * Here the store takes 300 ms to create a table, as DynamoDB takes seconds.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import type { AddressInfo } from 'node:net';
import { ensureTable } from '../../infra/local/local-store';
import { createDocumentClient } from '../../shared/data/client';

const slowStore = dynalite({ createTableMs: 300 });
let endpoint: string;
beforeAll(async () => {
  await new Promise<void>((listening) => slowStore.listen(0, '127.0.0.1', listening));
  endpoint = `http://127.0.0.1:${(slowStore.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((closed) => slowStore.close(() => closed())));

test('a table is usable as soon as ensureTable returns', async () => {
  const db = createDocumentClient({ endpoint });
  try {
    expect(await ensureTable(endpoint, 'ready-table')).toBe(true);
    await expect(db.send(new ScanCommand({ TableName: 'ready-table', Limit: 1 }))).resolves.toMatchObject({ Count: 0 });
    expect(await ensureTable(endpoint, 'ready-table')).toBe(false);
  } finally {
    db.destroy();
  }
});
