/**
 * `npm run export -- BATCH_ID [--out DIR]`: exports a released batch by hand,
 * with the same code as the release workflow's export task, in one go (no
 * time budget): to the local S3 server of `npm start`, to a deployed bucket
 * (EXPORT_BUCKET, with the table's variables and your AWS credentials), or
 * with --out to plain files in the same layout. An unknown or unreleased
 * batch is refused before anything is written.
 *
 * Exit code: 0 exported; 2 refused (bad arguments, an unknown or collecting
 * batch, nothing answering), or failed part-way (no manifest was written, so
 * no consumer takes it for complete; running it again is safe).
 */
import { parseArgs } from 'node:util';
import { DynamoBatchRecords } from '../../shared/data/batch-records';
import { createDocumentClient } from '../../shared/data/client';
import { pagingStore, tableOf } from '../../shared/data/dynamo-store';
import { describeBatch } from '../../shared/domain/batches';
import { exportBatch } from '../../shared/export/export-batch';
import { batchPrefix } from '../../shared/export/layout';
import { createS3Client } from '../../shared/s3-client';
import { s3Sink } from '../../shared/export/s3-sink';
import { directorySink, type ExportSink } from '../../shared/export/sink';
import { printable } from '../../shared/ingest/lines';
import { checkExportTarget, checkTarget, EXPORT_TARGET_HELP, resolveExportTarget, resolveTarget, TARGET_HELP } from './target';

const USAGE = `Usage: npm run export -- BATCH_ID [--out DIR]

Exports a released batch as gzip JSON Lines parts and a manifest (written
last) under batches/BATCH_ID/, as the release workflow does.
  --out DIR   write plain files under DIR instead of a bucket

${TARGET_HELP}
${EXPORT_TARGET_HELP}`;

/** A refusal: said in one sentence, exit code 2, nothing written. */
class Refused extends Error {}
const refuse = (error: Error): never => {
  throw new Refused(error.message);
};

async function main(): Promise<number> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { help: { type: 'boolean', short: 'h' }, out: { type: 'string' } },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const batchId = positionals[0];
  if (positionals.length !== 1 || !batchId || values.out === '') {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }

  const target = resolveTarget();
  await checkTarget(target).catch(refuse);
  const db = createDocumentClient({ endpoint: target.endpoint });
  try {
    const store = pagingStore(tableOf(db, target.tableName));
    const records = new DynamoBatchRecords(db, target.tableName);
    const batch = await describeBatch(
      { readPointer: () => store.readPointer(), readBatchRecords: (ids) => records.readBatchRecords(ids) },
      batchId,
    );
    const shown = printable(batchId);
    if (!batch) throw new Refused(`No batch "${shown}" in table "${target.tableName}" at ${target.endpoint}.`);
    if (batch.state !== 'released') {
      throw new Refused(`Batch "${shown}" is still collecting: release it first (npm run workflow, or POST /batch/release), then export it.`);
    }

    const { sink, where } = await destination(values.out, batchId);
    process.stderr.write(`Exporting batch ${batchId} (release ${batch.release_id ?? 'unknown'}) to ${where}\n`);
    const step = await exportBatch(store, sink, {
      batchId,
      releaseId: batch.release_id ?? null,
      releasedAt: batch.released_at ?? null,
      timeLeftMs: () => Number.POSITIVE_INFINITY,
      onPart: (part) =>
        process.stderr.write(`  ${part.key}: ${count(part.sessions, 'session')}, ${count(part.events, 'event')}, ${storedSize(part.bytes)}\n`),
    });
    if (!step.done) throw new Error('The export stopped without a deadline.');
    const { manifest } = step;
    process.stdout.write(
      `Exported batch ${batchId}: ${count(manifest.sessions, 'session')} and ${count(manifest.events, 'event')} ` +
        `in ${count(manifest.parts.length, 'part')} to ${where}; manifest ${step.manifestKey}.\n`,
    );
    return 0;
  } finally {
    db.destroy();
  }
}

async function destination(out: string | undefined, batchId: string): Promise<{ sink: ExportSink; where: string }> {
  if (out !== undefined) {
    const sink = directorySink(out);
    return { sink, where: `${sink.location}/${batchPrefix(batchId)}` };
  }
  const exportTarget = resolveExportTarget();
  await checkExportTarget(exportTarget).catch(refuse);
  const sink = s3Sink(createS3Client({ endpoint: exportTarget.endpoint }), exportTarget.bucket);
  return { sink, where: `s3://${exportTarget.bucket}/${batchPrefix(batchId)}${exportTarget.endpoint ? ` at ${exportTarget.endpoint}` : ''}` };
}

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
const storedSize = (bytes: number) =>
  bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB stored` : `${(bytes / 1024 / 1024).toFixed(1)} MiB stored`;

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = printable(error instanceof Error ? error.message : String(error));
    if (error instanceof Refused) {
      process.stderr.write(`${message} Nothing was exported.\n`);
    } else {
      process.stderr.write(`Export failed: ${message}\n`);
      process.stderr.write('No manifest was written, so the export is not complete; running it again is safe.\n');
    }
    process.exit(2);
  },
);
