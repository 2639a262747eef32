/**
 * Reading exports back, and the page walk they are compared with: this test
 * file's bucket on the jest run's S3 server (global-setup.ts), read through
 * the S3 API as a consumer would.
 */
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { getBatchPage } from '../../shared/domain/get-batch-page';
import type { BatchSession, Release } from '../../shared/domain/model';
import type { PagingStore } from '../../shared/domain/store';
import { batchPrefix, manifestKey, MAX_EVENTS_PER_SESSION, type Manifest } from '../../shared/export/layout';
import { createS3Client } from '../../shared/s3-client';
import type { Session } from '../../shared/schemas';
import { handler as exportHandler } from '../../functions/export-batch';
import { buildLambdaContext } from '../../infra/local/lambda-event';
import { EXPORT_FUNCTION } from '../../shared/export/export-function';
import { releaseDirect, scheduleOverHttp, seedSession, uniqueId } from './handlers';

export const testBucket = () => process.env.EXPORT_BUCKET!;

let client: S3Client | undefined;
/** A client of the jest run's S3 server (any credentials do). */
export const testS3 = (): S3Client => (client ??= createS3Client({ endpoint: process.env.S3_ENDPOINT! }));

export const createTestBucket = async () => {
  await testS3().send(new CreateBucketCommand({ Bucket: testBucket() }));
};

export async function readObject(key: string, bucket = testBucket(), client = testS3()): Promise<Buffer> {
  const { Body } = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await Body!.transformToByteArray());
}

/** Every key under `prefix`, in order. */
export async function listKeys(prefix: string, bucket = testBucket(), client = testS3()): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((object) => object.Key!));
    token = page.NextContinuationToken;
  } while (token);
  return keys.sort();
}

export interface StoredExport {
  manifest: Manifest;
  /** Each part as stored. */
  parts: { key: string; bytes: Buffer }[];
  /** Every line of every part, in order, as text. */
  lines: string[];
}

/** The export of a batch as a consumer reads it: the manifest, then the parts it lists. */
export async function readExport(batchId: string, bucket = testBucket(), client = testS3()): Promise<StoredExport> {
  const manifest = JSON.parse((await readObject(manifestKey(batchId), bucket, client)).toString('utf8')) as Manifest;
  const parts = [];
  const lines: string[] = [];
  for (const part of manifest.parts) {
    const bytes = await readObject(part.key, bucket, client);
    parts.push({ key: part.key, bytes });
    const text = gunzipSync(bytes).toString('utf8');
    expect(text.endsWith('\n')).toBe(true);
    lines.push(...text.slice(0, -1).split('\n'));
  }
  return { manifest, parts, lines };
}

export const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * The batch walked page by page through the same domain call the API pages
 * with (last_number fed back as after_number), each session with up to one
 * event more than a line carries, so a longer session shows.
 */
export async function walkBatch(store: PagingStore, batchId: string, limit = 100): Promise<BatchSession[]> {
  const sessions: BatchSession[] = [];
  let afterNumber = 0;
  for (;;) {
    const { page } = await getBatchPage(store, { batchId, afterNumber, limit, eventsLimit: MAX_EVENTS_PER_SESSION + 1 });
    if (page.last_number === null) return sessions;
    sessions.push(...page.sessions);
    afterNumber = page.last_number;
  }
}

/** What the export's line for a walked session must be: the session, its first 10,000 events and the flag if it has more. */
export function expectedLine(session: BatchSession): string {
  if (session.events.length <= MAX_EVENTS_PER_SESSION) return JSON.stringify(session);
  return JSON.stringify({ ...session, events: session.events.slice(0, MAX_EVENTS_PER_SESSION), events_truncated: true });
}

/** The export's keys of a batch, manifest included. */
export const exportKeys = (batchId: string, bucket = testBucket(), client = testS3()) => listKeys(batchPrefix(batchId), bucket, client);

export interface SeededSession {
  overrides?: Partial<Session>;
  events?: number;
}

/**
 * A released batch of these sessions, made the way the service makes one:
 * whatever is collecting is released first, then each session is written,
 * scheduled through the handler, and the batch released.
 */
export async function seedReleasedBatch(sessions: SeededSession[]): Promise<{ batchId: string; release: Release }> {
  await releaseDirect({ release_id: uniqueId('drain') }).catch((error: Error) => {
    if (error.name !== 'NoCollectingBatch') throw error;
  });
  const ids = await Promise.all(sessions.map((s) => seedSession(s.overrides, s.events ?? 1)));
  // One at a time: numbers in the order of the list.
  for (const id of ids) {
    const answer = await scheduleOverHttp(id);
    expect(answer.body.status).toBe('scheduled');
  }
  const release = (await releaseDirect({ release_id: uniqueId('release') })) as Release;
  return { batchId: release.batch_id, release };
}

/** Invokes the real export handler as the workflow's export task does: the bare payload, with a fresh Lambda context. */
export const exportDirect = (payload: unknown) =>
  exportHandler(payload, buildLambdaContext(EXPORT_FUNCTION.name, EXPORT_FUNCTION.timeoutSeconds));
