/**
 * The demo data `npm start` writes into an empty store: real-derived shopping
 * searches in OpenSearch UBI form (sample-data/README.md says where they come
 * from), loaded through the same code as `npm run import -- --format ubi`.
 * The README's curl examples and the tests use the ids below.
 */
import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SessionWriter } from '../../shared/data/session-writer';
import { importUbi, type UbiImportReport } from '../../shared/ingest/ubi';

export const DEMO_DATA_FILE = resolve(__dirname, 'sample-data', 'ubi-esci-sample.ndjson');

export const DEMO_SESSION_IDS = {
  /** "ps4": five results shown, one clicked; scheduled on first request. */
  ps4: '6610ec99-2271-4fe6-a4ca-d03546b0112d',
  /** "iphone headphones": two results clicked. */
  iphoneHeadphones: 'c4493dca-9a18-420d-a89b-04c3f704918f',
  /** "soundbar": a query sent three times (merged into one session), 17 clicks and 17 add-to-carts. */
  soundbar: '29562797-e44f-4245-9390-4186f6f8626c',
  /** "portable charger": results shown, nothing clicked; skipped with reason no_events. */
  portableCharger: '4246c73e-e2d0-4088-a817-74564b2d457b',
} as const;

/** Imports the demo file. Safe to run twice: the import is idempotent. */
export function seedDemoData(writer: SessionWriter): Promise<UbiImportReport> {
  return importUbi(createReadStream(DEMO_DATA_FILE), writer);
}

/** True when the table holds no item at all (a one-item Scan: no key knowledge needed). */
export async function isTableEmpty(db: DynamoDBDocumentClient, tableName: string): Promise<boolean> {
  const { Count } = await db.send(new ScanCommand({ TableName: tableName, Limit: 1, Select: 'COUNT' }));
  return !Count;
}

/** Seeds the demo data unless the table already holds something (a restart never re-seeds); the report if it seeded. */
export async function seedDemoDataIfEmpty(
  db: DynamoDBDocumentClient,
  tableName: string,
): Promise<UbiImportReport | undefined> {
  if (!(await isTableEmpty(db, tableName))) return undefined;
  return seedDemoData(new SessionWriter(db, tableName));
}
