/**
 * Importing one object of the ingest bucket: an object created under
 * `incoming/jsonl/` (session JSON Lines) or `incoming/ubi/` (UBI NDJSON),
 * plain or `.gz`, goes through the same import as `npm run import`, and its
 * report is written to `reports/<the object's key>.json`.
 *
 * - **Once per object version.** The report names the object's ETag; a
 *   notification of an object whose report is complete for that ETag does
 *   nothing (S3 and SQS deliver at least once). A new object under the same
 *   key has a new ETag and is imported again.
 * - **Resumable.** When `shouldStop` says time is short, the import stops
 *   after a chunk it has written and the report is saved `in_progress` with
 *   the line it stopped after; the next call for the object skips those lines
 *   (reading them again, which a gzip stream cannot avoid) and goes on. A
 *   checkpoint is also saved every CHECKPOINT_EVERY_MS, so a call that is
 *   killed outright resumes near where it died. Writes are idempotent, so
 *   lines imported twice across a crash change nothing.
 * - **Bounded memory.** The object is streamed (S3 body → gunzip → line
 *   reader → chunks of the import), never held whole.
 * - **Bad objects end, they do not block.** Lines that are not valid are
 *   rejected one by one with their reason (binary data, UTF-16, a line past
 *   the line limit); an object that cannot be read to its end (a truncated or
 *   corrupt gzip stream) gets a `failed` report with the reason, after what was
 *   readable of it is imported. Only outages (S3 or DynamoDB past the SDK's
 *   retries) throw, for the caller to retry.
 */
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { importSessions } from './jsonl';
import { printable } from './lines';
import type { ImportOptions, ImportReport, ImportWriter, RejectedLine } from './run';
import { importUbi, type UbiImportReport, type UbiImportWriter } from './ubi';

export type ObjectFormat = 'jsonl' | 'ubi';

/** Where objects to import are created, by format. */
export const INGEST_PREFIXES: Record<ObjectFormat, string> = { jsonl: 'incoming/jsonl/', ubi: 'incoming/ubi/' };

/** Where reports are written: `reports/<object key>.json`. */
export const REPORT_PREFIX = 'reports/';

export const reportKeyOf = (objectKey: string): string => `${REPORT_PREFIX}${objectKey}.json`;

/** How often a running import saves its checkpoint (the report, in_progress). */
export const CHECKPOINT_EVERY_MS = 20_000;

/** The format an object key names, or undefined for a key outside the ingest prefixes. */
export function formatOf(key: string): { format: ObjectFormat; gzip: boolean } | undefined {
  const format = (Object.keys(INGEST_PREFIXES) as ObjectFormat[]).find((f) => key.startsWith(INGEST_PREFIXES[f]));
  if (!format || key.length === INGEST_PREFIXES[format].length || key.endsWith('/')) return undefined;
  return { format, gzip: key.endsWith('.gz') };
}

export interface ObjectReport {
  bucket: string;
  key: string;
  /** The object version imported. */
  etag: string;
  format: ObjectFormat;
  gzip: boolean;
  /** complete: every line read; in_progress: a later call goes on after `resume_after_line`; failed: see `error`. */
  status: 'complete' | 'in_progress' | 'failed';
  /** Lines read, blank ones included. */
  lines: number;
  sessions: number;
  events: number;
  /** Every rejected line, with its number and reason. */
  rejected: RejectedLine[];
  /** Lines left out on purpose: their session is in a released batch, which an import never changes. */
  skipped: RejectedLine[];
  /** UBI only: what the UBI import counts besides (queries read, impressions, events it skipped by kind). */
  ubi?: Omit<UbiImportReport, 'lines' | 'sessions' | 'events' | 'rejected' | 'skippedLines' | 'stoppedAfterLine'>;
  resume_after_line?: number;
  /** Why the object could not be read to its end. */
  error?: string;
  /** Calls that worked on this object version. */
  calls: number;
  updated_at: string;
}

export type ObjectOutcome =
  | { outcome: 'ignored'; reason: string }
  | { outcome: 'duplicate'; report: ObjectReport }
  | { outcome: 'imported' | 'continues' | 'failed'; report: ObjectReport };

export interface ObjectImportInput {
  s3: S3Client;
  bucket: string;
  key: string;
  writer: ImportWriter & UbiImportWriter;
  /** Checked after each chunk: true stops the import there, to be resumed by a later call. */
  shouldStop?: () => boolean;
  /** @default CHECKPOINT_EVERY_MS */
  checkpointEveryMs?: number;
  /** @default Date.now */
  now?: () => number;
}

export async function importObject(input: ObjectImportInput): Promise<ObjectOutcome> {
  const { s3, bucket, key } = input;
  const kind = formatOf(key);
  if (!kind) return { outcome: 'ignored', reason: `not under ${Object.values(INGEST_PREFIXES).join(' or ')}` };
  const now = input.now ?? Date.now;

  const etag = await headEtag(s3, bucket, key);
  if (etag === undefined) return { outcome: 'ignored', reason: 'the object no longer exists' };
  const previous = await readReport(s3, bucket, key);
  const earlier = previous?.etag === etag ? previous : undefined;
  if (earlier && earlier.status !== 'in_progress') return { outcome: 'duplicate', report: earlier };

  const startAfterLine = earlier?.resume_after_line ?? 0;
  const rejected = [...(earlier?.rejected ?? [])];
  const skipped = [...(earlier?.skipped ?? [])];
  const base = { lines: 0, sessions: earlier?.sessions ?? 0, events: earlier?.events ?? 0 };
  const report = (fields: Pick<ObjectReport, 'status' | 'lines' | 'sessions' | 'events'> & Partial<ObjectReport>): ObjectReport => ({
    bucket,
    key,
    etag,
    ...kind,
    ...fields,
    rejected,
    skipped,
    calls: (earlier?.calls ?? 0) + 1,
    updated_at: new Date(now()).toISOString(),
  });

  let lastCheckpoint = now();
  const checkpointEvery = input.checkpointEveryMs ?? CHECKPOINT_EVERY_MS;
  let checkpoint: Promise<void> = Promise.resolve();
  /** What is written so far: every line up to `lines`. */
  let written = { lines: startAfterLine, sessions: 0, events: 0 };
  const options: ImportOptions = {
    startAfterLine,
    shouldStop: input.shouldStop,
    onReject: (line) => rejected.push(line),
    onSkip: (line) => skipped.push(line),
    onProgress: (progress) => {
      written = progress;
      if (now() - lastCheckpoint < checkpointEvery) return;
      lastCheckpoint = now();
      // Every line read so far is written: a call killed after this resumes here.
      const saved = report({
        status: 'in_progress',
        lines: progress.lines,
        sessions: base.sessions + progress.sessions,
        events: base.events + progress.events,
        resume_after_line: progress.lines,
      });
      checkpoint = checkpoint.then(() => writeReport(s3, bucket, saved));
    },
  };

  const source = await readObject(s3, bucket, key, etag, kind.gzip);
  let imported: ImportReport | UbiImportReport;
  let error: string | undefined;
  try {
    imported = kind.format === 'ubi' ? await importUbi(source.body, input.writer, options) : await importSessions(source.body, input.writer, options);
  } catch (caught) {
    error = source.unreadable(caught);
    if (error === undefined) throw caught;
    // The importer's report went with its exception: what it had written is what it last reported.
    imported = { ...written, rejected, skippedLines: skipped };
  }
  await checkpoint;

  const counts = { lines: imported.lines, sessions: base.sessions + imported.sessions, events: base.events + imported.events };
  const ubi = kind.format === 'ubi' && !error ? { ubi: ubiDetails(imported as UbiImportReport, earlier?.ubi) } : {};
  const final =
    error !== undefined
      ? report({ status: 'failed', ...counts, error })
      : imported.stoppedAfterLine !== undefined
        ? report({ status: 'in_progress', ...counts, resume_after_line: imported.stoppedAfterLine, ...ubi })
        : report({ status: 'complete', ...counts, ...ubi });
  await writeReport(s3, bucket, final);
  return { outcome: final.status === 'complete' ? 'imported' : final.status === 'failed' ? 'failed' : 'continues', report: final };
}

/** The object's ETag, or undefined if it is gone (deleted before its notification was handled). */
async function headEtag(s3: S3Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    const { ETag } = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return ETag ?? '';
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

async function readReport(s3: S3Client, bucket: string, key: string): Promise<ObjectReport | undefined> {
  try {
    const { Body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: reportKeyOf(key) }));
    return JSON.parse(await Body!.transformToString()) as ObjectReport;
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

const writeReport = (s3: S3Client, bucket: string, report: ObjectReport) =>
  s3
    .send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: reportKeyOf(report.key),
        Body: `${JSON.stringify(report, null, 1)}\n`,
        ContentType: 'application/json',
      }),
    )
    .then(() => undefined);

const isMissing = (error: unknown) => ['NoSuchKey', 'NotFound'].includes((error as Error).name);

/**
 * The object's bytes as a stream, gunzipped when its key ends in .gz, and how
 * to tell an unreadable object (corrupt gzip: the same on every retry) from an
 * outage (the S3 stream broke: worth a retry).
 */
async function readObject(s3: S3Client, bucket: string, key: string, etag: string, gzip: boolean) {
  // IfMatch: an object replaced while this call reads it fails the call, and the retry reads the new one.
  const { Body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, IfMatch: etag || undefined }));
  const raw = Body as Readable;
  let gzipError: Error | undefined;
  const body = gzip ? raw.pipe(createGunzip()).on('error', (e) => (gzipError = e)) : raw;
  if (gzip) raw.on('error', (e) => body.destroy(e));
  return {
    body: body as AsyncIterable<Uint8Array>,
    unreadable(error: unknown): string | undefined {
      if (!gzipError || error !== gzipError) return undefined;
      return printable(`not a readable gzip stream: ${gzipError.message}`);
    },
  };
}

/** The UBI import's own counts, added to an earlier call's. */
function ubiDetails(report: UbiImportReport, earlier: ObjectReport['ubi']): NonNullable<ObjectReport['ubi']> {
  const { lines: _l, sessions: _s, events: _e, rejected: _r, skippedLines: _k, stoppedAfterLine: _t, ...details } = report;
  if (!earlier) return details;
  const noObject = { ...earlier.skipped.noObject };
  for (const [action, n] of Object.entries(details.skipped.noObject)) noObject[action] = (noObject[action] ?? 0) + n;
  return {
    ...details,
    queries: earlier.queries + details.queries,
    impressions: earlier.impressions + details.impressions,
    skipped: {
      noQueryId: earlier.skipped.noQueryId + details.skipped.noQueryId,
      waitingForQuery: earlier.skipped.waitingForQuery + details.skipped.waitingForQuery,
      repeated: earlier.skipped.repeated + details.skipped.repeated,
      noObject,
    },
  };
}
