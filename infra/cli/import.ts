/**
 * `npm run import -- [--format jsonl|ubi] FILE` (or `-` for stdin, or
 * `s3://bucket/key`; `.gz` is gunzipped): loads
 * sessions and their events into the local store `npm start` runs, or, with
 * DYNAMODB_ENDPOINT and TABLE_NAME, into any table (one in AWS included).
 *
 * Rejected lines go to stderr as "line N: reason", skipped ones (a session of
 * a released batch, which an import never changes) as "line N: skipped: …";
 * the summary goes to stdout. Everything printed about the input has its
 * control characters escaped. Exit code: 0 all lines imported or skipped,
 * 1 some lines rejected, 2 the import could not run, read nothing at all (an
 * empty file, an empty or closed stdin) or stopped on a write error
 * (importing again is safe). Skipped UBI events (searches that name no
 * object, …) are reported but are not errors.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { parseArgs } from 'node:util';
import { createDocumentClient } from '../../shared/data/client';
import { SessionWriter } from '../../shared/data/session-writer';
import { importSessions } from '../../shared/ingest/jsonl';
import { printable } from '../../shared/ingest/lines';
import type { ImportProgress, ImportReport, RejectedLine } from '../../shared/ingest/run';
import { describeSkipped, importUbi } from '../../shared/ingest/ubi';
import { createS3Client } from '../../shared/s3-client';
import { LOCAL_DEFAULTS, localStoreEndpoint, portFromEnv } from '../local/local-config';
import { checkTarget, resolveTarget, TARGET_HELP } from './target';

const USAGE = `Usage: npm run import -- [--format jsonl|ubi] FILE   (FILE may be "-" for stdin, or s3://bucket/key)

FILE (or the object) is gunzipped when its name ends in .gz. s3://bucket/key is read
from S3 with your AWS credentials, or from the local S3 server of \`npm start\` when the
target is the local store, or from S3_ENDPOINT when set.

--format jsonl (default): one JSON object per line: a session (session_id,
search_query, created_at, search_results, optional search_meta, payload_filter,
sort_by, user_id, is_irrelevant, is_payload_search) plus an optional "events"
array (event_id, object_id, event_type, created_at, optional meta and session_id).

--format ubi: OpenSearch User Behavior Insights ubi_queries and ubi_events
documents as NDJSON, one per line or in the bulk-API form (an action line before
each document). Each query becomes a session, its impressions its search results,
and its other events that name an object its events (see README.md).

${TARGET_HELP}`;

/** Progress is printed at most this often, so small files print none. */
const PROGRESS_EVERY_MS = 1000;

async function main(): Promise<number> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { help: { type: 'boolean', short: 'h' }, format: { type: 'string', default: 'jsonl' } },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const file = positionals[0];
  const format = values.format;
  if (positionals.length !== 1 || !file || (format !== 'jsonl' && format !== 'ubi')) {
    if (format !== 'jsonl' && format !== 'ubi') process.stderr.write(`Unknown --format "${format}": use jsonl or ubi.\n`);
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }

  const target = resolveTarget();
  const { endpoint, tableName } = target;
  await checkTarget(target);
  const db = createDocumentClient({ endpoint });
  try {
    const source = await openInput(file);
    const progress = progressPrinter();
    const input = file === '-' ? 'stdin' : printable(file);
    process.stderr.write(`Importing ${input} into table "${tableName}" at ${endpoint}\n`);

    const writer = new SessionWriter(db, tableName);
    const options = {
      onProgress: progress.update,
      onReject: ({ line, reason }: RejectedLine) => progress.print(`line ${line}: ${reason}`),
      onSkip: ({ line, reason }: RejectedLine) => progress.print(`line ${line}: skipped: ${reason}`),
    };
    let report: ImportReport;
    let details = '';
    if (format === 'ubi') {
      const ubi = await importUbi(source, writer, options);
      details =
        `UBI: ${count(ubi.queries, 'query document')} made the sessions (repeated query ids merged), ` +
        `${count(ubi.impressions, 'impression')} their search results; ${describeSkipped(ubi.skipped)}.\n`;
      report = ubi;
    } else {
      report = await importSessions(source, writer, options);
    }
    progress.done();

    if (report.lines === 0) {
      process.stderr.write(`Nothing was read from ${input} (${file === '-' ? 'it is empty or closed' : 'it is empty'}): nothing imported.\n`);
      return 2;
    }
    const rejected = report.rejected.length;
    const skipped = report.skippedLines.length;
    const skippedText = skipped === 0 ? '' : `; skipped ${count(skipped, 'line')} of ${skipped === 1 ? 'a released batch' : 'released batches'}`;
    process.stdout.write(
      `Imported ${count(report.sessions, 'session')} and ${count(report.events, 'event')} ` +
        `from ${count(report.lines, 'line')}; rejected ${count(rejected, 'line')}${skippedText}.\n${details}`,
    );
    return rejected > 0 ? 1 : 0;
  } finally {
    db.destroy();
  }
}

/**
 * The bytes of FILE: stdin for "-", an object for s3://bucket/key (from S3, or
 * from the local S3 server when the target is the local store, or from
 * S3_ENDPOINT), else a file; gunzipped when the name ends in .gz.
 */
async function openInput(file: string): Promise<AsyncIterable<Uint8Array>> {
  if (file === '-') return process.stdin;
  let raw: Readable;
  const s3 = /^s3:\/\/([^/]+)\/(.+)$/.exec(file);
  if (s3) {
    const local = process.env.DYNAMODB_ENDPOINT ? undefined : localStoreEndpoint(portFromEnv('S3_PORT', LOCAL_DEFAULTS.s3Port));
    const client = createS3Client({ endpoint: process.env.S3_ENDPOINT || local });
    const { Body } = await client.send(new GetObjectCommand({ Bucket: s3[1], Key: s3[2] }));
    raw = Body as Readable;
  } else {
    raw = createReadStream(file);
  }
  return file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
}

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** Progress on stderr at most once a second: rewritten in place on a terminal, one line each otherwise. */
function progressPrinter() {
  const tty = process.stderr.isTTY;
  const started = Date.now();
  let last = started;
  let shown = false;
  const clear = () => {
    if (tty && shown) process.stderr.write('\r\x1b[K');
    shown = false;
  };
  return {
    update(p: ImportProgress) {
      const now = Date.now();
      if (now - last < PROGRESS_EVERY_MS) return;
      last = now;
      const text = `${p.lines} lines read: ${p.sessions} sessions and ${p.events} events written, ${p.rejected} rejected (${Math.round((now - started) / 1000)} s)`;
      clear();
      process.stderr.write(tty ? text : `${text}\n`);
      shown = tty;
    },
    print(line: string) {
      clear();
      process.stderr.write(`${line}\n`);
    },
    done: clear,
  };
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`Import failed: ${printable(error instanceof Error ? error.message : String(error))}\n`);
    if ((error as Error)?.name === 'ImportWriteError') {
      process.stderr.write('Lines before those were written; importing the same file again is safe.\n');
    }
    process.exit(2);
  },
);
