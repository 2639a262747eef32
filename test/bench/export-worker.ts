/**
 * Exports the released drain batch through the real export handler, in a
 * process of its own (its CPU and memory are the export's alone; the store
 * and the S3 server run in theirs), calling it again from its cursor until
 * it is done, as the workflow does. The first export is untimed (it loads and
 * JIT-compiles the code paths, as the drain reads one page untimed first);
 * the second is timed, and must store the same bytes.
 *
 * Input (argv[2], JSON): {batchId, releaseId, drainedSessions}: the batch
 * holds at least the sessions the drain read (the ops step schedules one or
 * two more into it before it releases it).
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { readFileSync } from 'node:fs';
import { buildLambdaContext } from '../../infra/local/lambda-event';
import { EXPORT_FUNCTION } from '../../shared/export/export-function';
import type { Manifest } from '../../shared/export/layout';
import { createS3Client } from '../../shared/export/s3-sink';
import { answerParent } from './workers';

export interface ExportInput {
  batchId: string;
  releaseId: string;
  drainedSessions: number;
}

export interface ExportResult {
  sessions: number;
  events: number;
  parts: number;
  /** Calls of the export function it took (one per workflow loop). */
  calls: number;
  bytesStored: number;
  seconds: number;
  sessionsPerSecond: number;
  warmupSeconds: number;
  /** The timed export stored exactly the parts of the untimed one. */
  identical: boolean;
  rssBeforeMb: number;
  /** Peak resident set of this process (VmHWM), MiB. */
  peakRssMb: number;
  /** Highest RSS seen by sampling every 20 ms, MiB (a cross-check of VmHWM). */
  sampledPeakRssMb: number;
}

const MIB = 1024 * 1024;

function peakRssBytes(): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) * 1024 : process.memoryUsage().rss;
}

type Answer = { done: false; cursor: unknown } | { done: true; manifest_key: string; sessions: number; events: number };

answerParent(async (): Promise<ExportResult> => {
  const input = JSON.parse(process.argv[2]!) as ExportInput;
  const [{ handler: exportHandler }, { handler: releaseHandler }] = await Promise.all([
    import('../../functions/export-batch'),
    import('../../functions/release-batch'),
  ]);
  // The release's own answer again (same release id, same body), as the workflow hands it on.
  const release = (await releaseHandler({ release_id: input.releaseId }, buildLambdaContext('ReleaseBatch', 10))) as {
    batch_id: string;
    released_at: number;
  };
  if (release.batch_id !== input.batchId) throw new Error(`Release ${input.releaseId} released ${release.batch_id}, not ${input.batchId}`);

  const s3 = createS3Client({ endpoint: process.env.S3_ENDPOINT });
  const exportOnce = async () => {
    let cursor: unknown = null;
    for (let calls = 1; ; calls++) {
      const payload = { batch_id: input.batchId, release_id: input.releaseId, released_at: release.released_at, cursor };
      const answer = (await exportHandler(payload, buildLambdaContext(EXPORT_FUNCTION.name, EXPORT_FUNCTION.timeoutSeconds))) as Answer;
      if (answer.done) {
        const { Body } = await s3.send(new GetObjectCommand({ Bucket: process.env.EXPORT_BUCKET, Key: answer.manifest_key }));
        return { calls, manifest: JSON.parse(await Body!.transformToString()) as Manifest };
      }
      cursor = answer.cursor;
    }
  };

  const warmupStarted = performance.now();
  const warm = await exportOnce();
  const warmupSeconds = (performance.now() - warmupStarted) / 1000;

  const rssBeforeMb = process.memoryUsage().rss / MIB;
  let sampledPeak = process.memoryUsage().rss;
  const sampler = setInterval(() => (sampledPeak = Math.max(sampledPeak, process.memoryUsage().rss)), 20);
  const started = performance.now();
  const timed = await exportOnce();
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);

  const { manifest } = timed;
  if (manifest.sessions < input.drainedSessions || manifest.sessions > input.drainedSessions + 10) {
    throw new Error(`The export holds ${manifest.sessions} sessions; the drain read ${input.drainedSessions} of the batch`);
  }
  const digests = (m: Manifest) => JSON.stringify(m.parts.map((p) => [p.key, p.bytes, p.sha256]));
  return {
    sessions: manifest.sessions,
    events: manifest.events,
    parts: manifest.parts.length,
    calls: timed.calls,
    bytesStored: manifest.parts.reduce((n, p) => n + p.bytes, 0),
    seconds,
    sessionsPerSecond: manifest.sessions / seconds,
    warmupSeconds,
    identical: digests(warm.manifest) === digests(manifest),
    rssBeforeMb,
    peakRssMb: peakRssBytes() / MIB,
    sampledPeakRssMb: sampledPeak / MIB,
  };
});
