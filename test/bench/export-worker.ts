/**
 * Exports the released drain batch through the real export handler, calling
 * it again from its cursor until it is done, as the workflow does, in a
 * process of its own (the store and the S3 server run in theirs).
 *
 * Mode "alone": one export in a fresh process, as in a cold container: its
 * peak memory, and the digests of the parts it stored.
 * Mode "compare": the export next to the page-walk drain of the same batch
 * through the GetBatchPage handler (limit 100, as a consumer pages today),
 * in the same process, interleaved: drain, export, then export, drain. Each
 * side's time is the sum of its runs, so a burst of load from elsewhere hits
 * both alike (wall-clock ratios between two separate steps minutes apart
 * swing by tens of percent on a shared machine). Like the drain worker, one
 * page is read untimed first; the export warms up in its first slices. The
 * second export must store the same bytes as the first.
 *
 * Input (argv[2], JSON): {mode, batchId, releaseId, drainedSessions}: the
 * batch holds at least the sessions the drain step read (the ops step
 * schedules one or two more into it before it releases it).
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { readFileSync } from 'node:fs';
import { buildLambdaContext } from '../../infra/local/lambda-event';
import { EXPORT_FUNCTION } from '../../shared/export/export-function';
import type { Manifest } from '../../shared/export/layout';
import { createS3Client } from '../../shared/s3-client';
import { expectStatus, invokePage, loadHandlers } from './invoke';
import { answerParent } from './workers';

export interface ExportInput {
  mode: 'alone' | 'compare';
  batchId: string;
  releaseId: string;
  drainedSessions: number;
}

export interface ExportRun {
  sessions: number;
  events: number;
  parts: number;
  /** Calls of the export function it took (one per workflow loop). */
  calls: number;
  bytesStored: number;
  seconds: number;
  sessionsPerSecond: number;
}

export interface ExportAloneResult {
  mode: 'alone';
  export: ExportRun;
  digests: string;
  rssBeforeMb: number;
  /** Peak resident set of this process (VmHWM), MiB. */
  peakRssMb: number;
  /** Highest RSS seen by sampling every 20 ms, MiB (a cross-check of VmHWM). */
  sampledPeakRssMb: number;
}

export interface ExportCompareResult {
  mode: 'compare';
  /** Both exports summed. */
  export: { runs: number; seconds: number; sessionsPerSecond: number };
  /** Both drains summed (the handler's time, less the consumer's JSON.parse, as the drain worker measures it). */
  drain: { runs: number; sessions: number; seconds: number; sessionsPerSecond: number };
  /** The second export stored exactly the parts of the first. */
  identical: boolean;
  digests: string;
}

const MIB = 1024 * 1024;

function peakRssBytes(): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) * 1024 : process.memoryUsage().rss;
}

type Answer = { done: false; cursor: unknown } | { done: true; manifest_key: string; sessions: number; events: number };

answerParent(async (): Promise<ExportAloneResult | ExportCompareResult> => {
  const input = JSON.parse(process.argv[2]!) as ExportInput;
  const [{ handler: exportHandler }, handlers] = await Promise.all([import('../../functions/export-batch'), loadHandlers()]);
  // The release's own answer again (same release id, same body), as the workflow hands it on.
  const release = (await handlers.release({ release_id: input.releaseId }, buildLambdaContext('ReleaseBatch', 10))) as unknown as {
    batch_id: string;
    released_at: number;
  };
  if (release.batch_id !== input.batchId) throw new Error(`Release ${input.releaseId} released ${release.batch_id}, not ${input.batchId}`);
  const s3 = createS3Client({ endpoint: process.env.S3_ENDPOINT });

  const exportOnce = async (): Promise<ExportRun & { manifest: Manifest }> => {
    const started = performance.now();
    let cursor: unknown = null;
    for (let calls = 1; ; calls++) {
      const payload = { batch_id: input.batchId, release_id: input.releaseId, released_at: release.released_at, cursor };
      const answer = (await exportHandler(payload, buildLambdaContext(EXPORT_FUNCTION.name, EXPORT_FUNCTION.timeoutSeconds))) as Answer;
      if (!answer.done) {
        cursor = answer.cursor;
        continue;
      }
      const seconds = (performance.now() - started) / 1000;
      const { Body } = await s3.send(new GetObjectCommand({ Bucket: process.env.EXPORT_BUCKET, Key: answer.manifest_key }));
      const manifest = JSON.parse(await Body!.transformToString()) as Manifest;
      if (manifest.sessions < input.drainedSessions || manifest.sessions > input.drainedSessions + 10) {
        throw new Error(`The export holds ${manifest.sessions} sessions; the drain read ${input.drainedSessions} of the batch`);
      }
      return {
        manifest,
        sessions: manifest.sessions,
        events: manifest.events,
        parts: manifest.parts.length,
        calls,
        bytesStored: manifest.parts.reduce((n, p) => n + p.bytes, 0),
        seconds,
        sessionsPerSecond: manifest.sessions / seconds,
      };
    }
  };
  const digests = (m: Manifest) => JSON.stringify(m.parts.map((p) => [p.key, p.bytes, p.sha256]));

  if (input.mode === 'alone') {
    const rssBeforeMb = process.memoryUsage().rss / MIB;
    let sampledPeak = process.memoryUsage().rss;
    const sampler = setInterval(() => (sampledPeak = Math.max(sampledPeak, process.memoryUsage().rss)), 20);
    const { manifest, ...run } = await exportOnce();
    clearInterval(sampler);
    return { mode: 'alone', export: run, digests: digests(manifest), rssBeforeMb, peakRssMb: peakRssBytes() / MIB, sampledPeakRssMb: sampledPeak / MIB };
  }

  const drainOnce = async () => {
    const started = performance.now();
    let afterNumber = 0;
    let sessions = 0;
    let parseMs = 0;
    for (;;) {
      const result = await invokePage(handlers, { batchId: input.batchId, afterNumber, limit: 100, eventsLimit: 100 });
      expectStatus(result, 200, 'GetBatchPage');
      const parseStarted = performance.now();
      const page = JSON.parse(result.body) as { last_number: number | null; sessions: unknown[] };
      parseMs += performance.now() - parseStarted;
      if (page.last_number === null) break;
      sessions += page.sessions.length;
      afterNumber = page.last_number;
    }
    return { sessions, seconds: (performance.now() - started - parseMs) / 1000 };
  };

  await invokePage(handlers, { batchId: input.batchId, afterNumber: 0, limit: 100, eventsLimit: 100 });
  const exports: Awaited<ReturnType<typeof exportOnce>>[] = [];
  const drains: Awaited<ReturnType<typeof drainOnce>>[] = [];
  drains.push(await drainOnce());
  exports.push(await exportOnce());
  exports.push(await exportOnce());
  drains.push(await drainOnce());

  const exportSeconds = exports.reduce((n, e) => n + e.seconds, 0);
  const drainSeconds = drains.reduce((n, d) => n + d.seconds, 0);
  const drainSessions = drains.reduce((n, d) => n + d.sessions, 0);
  return {
    mode: 'compare',
    export: { runs: exports.length, seconds: exportSeconds, sessionsPerSecond: exports.reduce((n, e) => n + e.sessions, 0) / exportSeconds },
    drain: { runs: drains.length, sessions: drainSessions, seconds: drainSeconds, sessionsPerSecond: drainSessions / drainSeconds },
    identical: digests(exports[0]!.manifest) === digests(exports[1]!.manifest),
    digests: digests(exports[0]!.manifest),
  };
});
