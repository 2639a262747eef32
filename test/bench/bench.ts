/**
 * npm run bench — what the service costs, side by side with DynamoDB's floor,
 * in one run on the embedded store. Prints a table, writes bench-report.json
 * in the working directory and exits non-zero if a budget is missed.
 *
 * Processes: dynalite runs in a process of its own (DynamoDB is remote from a
 * Lambda too); each measurement that involves the handlers runs in a fresh
 * child process with the handlers' environment, so its CPU, memory and log
 * output are the service's alone. See README ("Performance") for what each
 * budget means.
 *
 * BENCH_SESSIONS=1000 npm run bench gives a quicker, smaller run while
 * working on the bench itself; the budgets are defined for the default 10,000.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureTable } from '../../infra/local/local-store';
import { createDocumentClient } from '../../shared/data/client';
import { SERVICE_NAME } from '../../shared/observability';
import { buildBundles, bytesOverBaseline, type BuiltBundle } from './bundles';
import { measureColdInit } from './cold-init';
import type { DrainInput, DrainResult } from './drain-worker';
import type { IngestInput, IngestResult } from './ingest-worker';
import type { ExportAloneResult, ExportCompareResult, ExportInput } from './export-worker';
import { measureLatency, type LatencyResult, type LatencyScenario } from './latency';
import type { OpsInput, OpsResult } from './ops-worker';
import type { OverheadInput, OverheadResult } from './overhead-worker';
import type { ScaleInput, ScaleResult } from './scale-worker';
import type { UbiImportInput, UbiImportResult } from './ubi-import-worker';
import { budget, printBudgets, printTable, round, writeReport, type BudgetKind } from './report';
import { pageStarts, seedScheduledBatch, seedUnscheduledSessions } from './seed';
import { runWorker, startWorker } from './workers';

const CONFIG = {
  drainSessions: Number(process.env.BENCH_SESSIONS ?? 10_000),
  eventsPerSession: 20,
  overhead: { runs: 40, warmup: 5 },
  coldInitRuns: 31,
  latency: { connections: 32, durationSeconds: 5 },
  /** Unscheduled sessions for the schedule latency run (it stops early if it uses them all up). */
  schedulePool: 3_000,
  /** Copies of the UBI demo sample imported to measure the UBI import's memory (20: about 56 MB, 78,420 documents). */
  ubiCopies: 20,
  /** The generated JSON Lines object of the ingest step (about 1 KB a session with its events). */
  ingest: { jsonlSessions: 5000, eventsPerSession: 5 },
  tableName: 'bench',
  /**
   * Capacity on the wire: session item sizes, and first schedules per size
   * (the ceiling is measured at 4 KB, with the counter layout beside it).
   */
  scale: { sizes: [1024, 4096, 10240], ceilingBytes: 4096, sessions: 2_000, otherSizesSessions: 300, eventsPerSession: 5, concurrency: 32 },
};

const REPORT_FILE = path.resolve(process.cwd(), 'bench-report.json');

/** What a worker process needs to run the handlers against the bench table. */
const serviceEnv = (endpoint: string): Record<string, string> => ({
  TABLE_NAME: CONFIG.tableName,
  DYNAMODB_ENDPOINT: endpoint,
  AWS_REGION: 'local',
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
  POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
  POWERTOOLS_METRICS_NAMESPACE: 'SessionImprovementBench',
});

const stepSeconds: Record<string, number> = {};
async function step<T>(name: string, run: () => Promise<T>): Promise<T> {
  const started = performance.now();
  process.stdout.write(`• ${name}… `);
  const result = await run();
  stepSeconds[name] = round((performance.now() - started) / 1000, 1);
  console.log(`${stepSeconds[name]} s`);
  return result;
}

async function main() {
  const started = performance.now();
  // Wall-clock ratios need the CPUs to ourselves: note how busy the machine was.
  const loadAtStart = os.loadavg()[0]!;
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const bundleDir = mkdtempSync(path.join(os.tmpdir(), 'bench-bundles-'));
  // Bundles and cold starts first, while nothing else runs: even idle, the store and S3 processes
  // slowed the handlers' loads more than the baseline's (ratio 1.16-1.18 with them, 1.06-1.13 without).
  const bundles = await step('build bundles', () => buildBundles(bundleDir));
  const coldInit = await step('cold init', () => measureColdInit([...bundles.handlers, bundles.baseline], CONFIG.coldInitRuns));
  const store = startWorker<{ endpoint: string }>('store-process.ts', {});
  const s3 = startWorker<{ endpoint: string; bucket: string }>('s3-process.ts', {});

  try {

    const { endpoint } = await store.answer;
    await ensureTable(endpoint, CONFIG.tableName);
    const db = createDocumentClient({ endpoint });
    const env = serviceEnv(endpoint);

    const seed = await step(`seed ${CONFIG.drainSessions} sessions × ${CONFIG.eventsPerSession} events`, () =>
      seedScheduledBatch(db, CONFIG.tableName, {
        sessions: CONFIG.drainSessions,
        eventsPerSession: CONFIG.eventsPerSession,
        idPrefix: 'drain',
        concurrency: 32,
      }),
    );
    const pool = await step(`seed ${CONFIG.schedulePool} unscheduled sessions`, () =>
      seedUnscheduledSessions(db, CONFIG.tableName, {
        sessions: CONFIG.schedulePool,
        eventsPerSession: 1,
        idPrefix: 'pool',
        concurrency: 32,
      }),
    );

    const overhead = await step('handler overhead', () =>
      runWorker<OverheadResult>('overhead-worker.ts', env, [
        JSON.stringify({ batchId: seed.batchId, pageStarts: pageStarts(seed.numbers, 100), ...CONFIG.overhead } satisfies OverheadInput),
      ]),
    );

    const drain = (mode: DrainInput['mode']) =>
      runWorker<DrainResult>('drain-worker.ts', env, [
        JSON.stringify({ mode, batchId: seed.batchId, expectedSessions: seed.sessions } satisfies DrainInput),
      ]);
    const drainCompared = await step('drain: handler vs direct, page by page', () => drain('compare'));
    const drainHandler = await step('drain: handler alone (peak memory)', () => drain('handler'));
    const drainRatio = drainCompared.handler.sessionsPerSecond / drainCompared.direct!.sessionsPerSecond;

    // Takes the first sessions of the pool; releases the seeded batch at its end.
    const ops = await step('round trips', () =>
      runWorker<OpsResult>('ops-worker.ts', env, [
        JSON.stringify({ batchId: seed.batchId, sessionIds: pool.sessionIds.slice(0, 2) } satisfies OpsInput),
      ]),
    );

    // The drain batch, released by the ops step, exported as the workflow exports it.
    const { endpoint: s3Endpoint, bucket } = await s3.answer;
    const exportRun = (mode: ExportInput['mode']) =>
      runWorker<ExportAloneResult | ExportCompareResult>('export-worker.ts', { ...env, S3_ENDPOINT: s3Endpoint, EXPORT_BUCKET: bucket }, [
        JSON.stringify({ mode, batchId: seed.batchId, releaseId: ops.releaseId, drainedSessions: seed.sessions } satisfies ExportInput),
      ]);
    const exportAlone = (await step('export: alone (peak memory)', () => exportRun('alone'))) as ExportAloneResult;
    const exportCompared = (await step('export vs drain of the same batch, interleaved', () => exportRun('compare'))) as ExportCompareResult;
    const exportRatio = exportCompared.export.sessionsPerSecond / exportCompared.drain.sessionsPerSecond;
    const exported = exportAlone.export;

    const scale: ScaleResult[] = [];
    for (const sessionBytes of CONFIG.scale.sizes) {
      const atCeiling = sessionBytes === CONFIG.scale.ceilingBytes;
      const input: ScaleInput = {
        sessionBytes,
        sessions: atCeiling ? CONFIG.scale.sessions : CONFIG.scale.otherSizesSessions,
        eventsPerSession: CONFIG.scale.eventsPerSession,
        concurrency: CONFIG.scale.concurrency,
        legacy: atCeiling,
      };
      scale.push(
        await step(`capacity on the wire: ${input.sessions} first schedules of ${kb(sessionBytes)} sessions${atCeiling ? ', and the counter layout' : ''}`, () =>
          runWorker<ScaleResult>('scale-worker.ts', { ...env, TABLE_NAME: `bench-scale-${sessionBytes}` }, [JSON.stringify(input)]),
        ),
      );
    }
    const atCeiling = scale.find((s) => s.sessionBytes === CONFIG.scale.ceilingBytes)!;
    const counter = atCeiling.counterLayout!;

    const latency = await step('latency under load', () => measureEndpoints(env, seed.batchId, pageStarts(seed.numbers, 10), pool.sessionIds.slice(2), ops));
    const ingested = await step('ingest: objects through the ingest function', () =>
      runWorker<IngestResult>('ingest-worker.ts', { ...env, TABLE_NAME: 'bench-ingest', S3_ENDPOINT: s3Endpoint, EXPORT_BUCKET: bucket }, [
        JSON.stringify(CONFIG.ingest satisfies IngestInput),
      ]),
    );
    const ubiImport = await step('UBI import memory', () =>
      runWorker<UbiImportResult>('ubi-import-worker.ts', {}, [JSON.stringify({ copies: CONFIG.ubiCopies } satisfies UbiImportInput)]),
    );

    // ── budgets ────────────────────────────────────────────────────────────
    const slowest = coldInit.filter((c) => c.name !== bundles.baseline.name).sort((a, b) => b.medianImportMs - a.medianImportMs)[0]!;
    const baselineInit = coldInit.find((c) => c.name === bundles.baseline.name)!;
    const largest = [...bundles.handlers].sort((a, b) => b.bytes - a.bytes)[0]!;
    const networkAtLoad = coldInit.flatMap((c) => c.networkAtLoad.map((r) => `${c.name}: ${r}`));
    // Preconditions of the figures: if one fails, the ratios compare the wrong things.
    const checks = [
      {
        name: 'no network at module load',
        pass: networkAtLoad.length === 0,
        detail: networkAtLoad.length ? networkAtLoad.join(', ') : 'no socket, HTTP request or fetch while loading any bundle',
      },
      {
        name: 'direct page sends the handler’s requests',
        pass: overhead.sameRequests,
        detail: `${overhead.requestsPerPage} requests per page, compared as wire bodies`,
      },
      {
        name: 'a re-export stores the same bytes',
        pass: exportCompared.identical && exportCompared.digests === exportAlone.digests,
        detail: `${exported.parts} part(s), ${kb(exported.bytesStored)} stored, the same sha256 in three exports`,
      },
      {
        name: 'every latency response as expected',
        pass: latency.every((l) => l.unexpected === 0),
        detail: latency.map((l) => `${l.name}: ${JSON.stringify(l.statusCodes)}, ${l.errors} errors`).join('; '),
      },
    ];

    const entries: Array<[string, number, number, BudgetKind, string]> = [
      ['page_round_trips', ops.page.rounds, 2, 'max', `${ops.page.calls} calls for 100 sessions × ${CONFIG.eventsPerSession} events`],
      ['schedule_round_trips', ops.schedule.rounds, 3, 'max', `${ops.schedule.calls} calls, eligible session, first time`],
      [
        'handler_overhead_ratio',
        overhead.ratio,
        1.15,
        'max',
        `median ${round(overhead.handlerMs.median)} ms ÷ ${round(overhead.directMs.median)} ms, ${overhead.runs} runs each`,
      ],
      [
        'drain_ratio',
        drainRatio,
        0.85,
        'min',
        `${round(drainCompared.handler.sessionsPerSecond)} ÷ ${round(drainCompared.direct!.sessionsPerSecond)} sessions/s`,
      ],
      [
        'cold_init_ratio',
        slowest.medianImportMs / baselineInit.medianImportMs,
        1.2,
        'max',
        `${slowest.name} ${round(slowest.medianImportMs)} ms ÷ ${round(baselineInit.medianImportMs)} ms, median of ${CONFIG.coldInitRuns}`,
      ],
      [
        'bundle_size_ratio',
        largest.bytes / bundles.baseline.bytes,
        1.2,
        'max',
        `${largest.name} ${kb(largest.bytes)} ÷ ${kb(bundles.baseline.bytes)}`,
      ],
      ['drain_peak_rss_mb', drainHandler.peakRssMb, 256, 'max', `VmHWM of the handler drain process`],
      [
        'export_ratio',
        exportRatio,
        1,
        'min',
        `${round(exportCompared.export.sessionsPerSecond)} ÷ ${round(exportCompared.drain.sessionsPerSecond)} sessions/s, export (gzip JSON Lines to S3) ÷ handler drain, 2 runs each, interleaved`,
      ],
      ['export_peak_rss_mb', exportAlone.peakRssMb, 256, 'max', `VmHWM of a process exporting the batch`],
      [
        'schedule_ceiling_per_s',
        atCeiling.firstSchedules.perSecond,
        10_000,
        'min',
        `${kb(atCeiling.sessionBytes)} sessions, ${atCeiling.shards} shards: hottest ${ceilingNote(atCeiling.firstSchedules)}; ` +
          `counter layout, same run: ${counter.perSecond}/s (hottest ${ceilingNote(counter)})`,
      ],
      [
        'schedule_wcu',
        Math.max(...scale.map((s) => s.firstSchedules.wcuPerSchedule)),
        4,
        'max',
        `mean per first schedule, ${scale.map((s) => `${kb(s.sessionBytes)}: ${round(s.firstSchedules.wcuPerSchedule, 2)}`).join(', ')}; ` +
          `counter layout at ${kb(atCeiling.sessionBytes)}: ${round(counter.wcuPerSchedule, 2)}`,
      ],
    ];
    const budgets = entries.map(([name, value, limit, kind, note]) => ({ ...budget(name, value, limit, kind), kind, note }));

    const totalSeconds = round((performance.now() - started) / 1000, 1);
    const report = {
      budgets: budgets.map(({ name, value, limit, pass }) => ({ name, value, limit, pass })),
      checks,
      run: {
        date: new Date().toISOString(),
        node: process.version,
        platform: `${os.platform()} ${os.arch()}`,
        cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown'}`,
        memoryGb: round(os.totalmem() / 1024 ** 3, 1),
        loadAverage1m: { atStart: round(loadAtStart, 2), atEnd: round(os.loadavg()[0]!, 2) },
        totalSeconds,
        stepSeconds,
        config: CONFIG,
      },
      seed: { ...seed, numbers: undefined, unscheduledPool: { sessions: pool.sessionIds.length, seconds: pool.seconds } },
      roundTrips: {
        ...ops.roundTripDetails,
        originDesignPageRounds: 1 + 100,
        note: 'The origin API reads a page of N sessions with N+1 sequential queries (and reads every event of a session to see if it has one); here a page is 2 rounds whatever N is.',
      },
      handlerOverhead: overhead,
      drain: { compared: drainCompared, handlerAlone: drainHandler },
      export: { alone: exportAlone, compared: exportCompared },
      coldInit: coldInit.map((c) => ({
        ...c,
        medianImportMs: round(c.medianImportMs),
        medianImportCpuMs: round(c.medianImportCpuMs),
        medianSinceProcessStartMs: round(c.medianSinceProcessStartMs),
        ratioToBaseline: round(c.medianImportMs / baselineInit.medianImportMs, 3),
        cpuRatioToBaseline: round(c.medianImportCpuMs / baselineInit.medianImportCpuMs, 3),
      })),
      bundles: [...bundles.handlers, bundles.baseline, bundles.exportFunction].map((b) => bundleSummary(b, bundles.baseline)),
      capacityOnTheWire: {
        note:
          'Metered by the realism proxy as DynamoDB bills: writes in 1 KB units of max(item before, item after), failed conditions included; ' +
          'reads in 4 KB units of what was read, halved when eventually consistent; index entries on their own keys. ' +
          'Ceilings: DynamoDB allows 1,000 WCU and 3,000 RCU per second on each partition key value.',
        sizes: scale,
      },
      latency,
      ubiImport,
      ingest: ingested,
    };
    writeReport(REPORT_FILE, report);

    console.log();
    printBudgets(budgets);
    for (const check of checks) console.log(`${check.pass ? 'ok  ' : 'FAIL'} ${check.name}${check.pass ? '' : `: ${check.detail}`}`);
    const baselineBuiltins = new Set(baselineInit.builtinsLoaded);
    const extraBuiltins = [...new Set(coldInit.flatMap((c) => c.builtinsLoaded))].filter((m) => !baselineBuiltins.has(m));
    console.log(`Node built-ins the handlers load at init beyond the baseline: ${extraBuiltins.join(', ') || 'none'}`);
    if (!budgets.every((b) => b.pass)) {
      console.log(`What ${largest.name} adds over the baseline: ${bytesOverBaseline(largest, bundles.baseline).slice(0, 6).map((s) => `${s.source} ${kb(s.bytes)}`).join(', ')}`);
    }
    console.log(
      `Handler overhead in CPU per page: ${round(overhead.medianCpuMs.handler)} ms vs ${round(overhead.medianCpuMs.direct)} ms direct; ` +
        `drain peak RSS ${round(drainHandler.peakRssMb)} MiB (${round(drainHandler.rssBeforeMb)} MiB before the first page, tsx loader included).`,
    );
    console.log(
      `Export: ${exported.sessions} sessions, ${exported.events} events in ${exported.parts} part(s), ${kb(exported.bytesStored)} stored, ` +
        `${round(exported.seconds, 2)} s alone (${round(exported.sessionsPerSecond)} sessions/s), ${exported.calls} call(s); peak RSS ${round(exportAlone.peakRssMb)} MiB ` +
        `(${round(exportAlone.rssBeforeMb)} MiB before it began). Export function bundle ${kb(bundles.exportFunction.bytes)} ` +
        `(not an API handler: the workflow calls it once a release, so the handlers' cold-start and size budgets are not its).`,
    );
    console.log(
      `UBI import: ${ubiImport.documents} documents (${round(ubiImport.fileMb)} MiB) in ${ubiImport.chunks} chunks held at most ${round(ubiImport.heldHeapMb)} MiB of heap ` +
        `when a chunk's writes began (bounded by a chunk, not the file).`,
    );
    for (const object of ingested) {
      console.log(
        `Ingest ${object.key}: ${kb(object.bytes)}, ${object.lines} lines, ${object.sessions} sessions and ${object.events} events ` +
          `in ${round(object.seconds, 2)} s: ${round(object.sessionsPerSecond)} sessions/s (ingest function into dynalite, from the local S3 server).`,
      );
    }
    console.log();
    printDetails(report.coldInit, bundles, scale, latency);
    console.log(`\nTotal ${totalSeconds} s; report written to ${REPORT_FILE}`);
    if (loadAtStart > os.cpus().length / 2) {
      console.log(
        `Note: the machine was busy when the run started (1-minute load average ${round(loadAtStart, 2)} on ${os.cpus().length} CPUs); ` +
          'the time ratios (handler_overhead_ratio, drain_ratio, cold_init_ratio) are only meaningful on an otherwise idle machine.',
      );
    }
    if (budgets.some((b) => !b.pass) || checks.some((c) => !c.pass)) process.exitCode = 1;
  } finally {
    store.child.disconnect();
    s3.child.disconnect();
    rmSync(bundleDir, { recursive: true, force: true });
  }
}

async function measureEndpoints(env: Record<string, string>, batchId: string, starts: number[], pool: string[], ops: OpsResult) {
  const server = startWorker<{ url: string }>('server-worker.ts', env);
  try {
    const { url } = await server.answer;
    const endpoints: LatencyScenario[] = [
      {
        name: 'GET /batch/sessions (limit 10, 20 events each)',
        method: 'GET',
        path: (i) => `/batch/sessions?batch_id=${batchId}&after_number=${starts[i % starts.length]}&limit=10`,
        expectStatus: 200,
      },
      {
        name: 'POST /session/use-for-improvement (first time)',
        method: 'POST',
        path: () => '/session/use-for-improvement',
        body: (i) => JSON.stringify({ session_id: pool[i % pool.length] }),
        maxRequests: pool.length,
        expectStatus: 200,
      },
      {
        name: 'POST /batch/release (repeated release_id)',
        method: 'POST',
        path: () => '/batch/release',
        body: () => JSON.stringify({ release_id: ops.releaseId }),
        expectStatus: 200,
      },
    ];
    // One after another: each endpoint gets the machine to itself.
    const results: LatencyResult[] = [];
    for (const endpoint of endpoints) results.push(await measureLatency(url, endpoint, CONFIG.latency));
    return results;
  } finally {
    server.child.disconnect();
  }
}

const kb = (bytes: number) => `${round(bytes / 1024, 1)} KB`;

/** "1,000 ÷ 0.07 WCU per schedule on SHARD#13". */
const ceilingNote = (c: ScaleResult['firstSchedules']) =>
  c.hottestWrite.perSchedule * 3 >= c.hottestRead.perSchedule
    ? `${round(c.hottestWrite.perSchedule, 3)} WCU per schedule on ${c.hottestWrite.key} (1,000 a second)`
    : `${round(c.hottestRead.perSchedule, 3)} RCU per schedule on ${c.hottestRead.key} (3,000 a second)`;

function bundleSummary(bundle: BuiltBundle, baseline: BuiltBundle) {
  return {
    name: bundle.name,
    entry: bundle.entry,
    bytes: bundle.bytes,
    ratioToBaseline: round(bundle.bytes / baseline.bytes, 3),
    overBaseline: bundle === baseline ? [] : bytesOverBaseline(bundle, baseline).slice(0, 8),
  };
}

function printDetails(
  coldInit: {
    name: string;
    medianImportMs: number;
    medianImportCpuMs: number;
    medianSinceProcessStartMs: number;
    ratioToBaseline: number;
    cpuRatioToBaseline: number;
  }[],
  bundles: { handlers: BuiltBundle[]; baseline: BuiltBundle },
  scale: ScaleResult[],
  latency: LatencyResult[],
) {
  const all = [...bundles.handlers, bundles.baseline];
  printTable(
    ['bundle', 'size', 'import (median)', '÷ baseline', 'import CPU', '÷ baseline', 'process start → loaded'],
    coldInit.map((c) => [
      c.name,
      kb(all.find((b) => b.name === c.name)!.bytes),
      `${c.medianImportMs} ms`,
      String(c.ratioToBaseline),
      `${c.medianImportCpuMs} ms`,
      String(c.cpuRatioToBaseline),
      `${c.medianSinceProcessStartMs} ms`,
    ]),
  );
  console.log();
  const eventBytes = scale[0]!.eventBytes;
  console.log(`Capacity per operation on the wire, as DynamoDB bills it (sessions of each size with ${CONFIG.scale.eventsPerSession} events of ${eventBytes} B):`);
  printTable(
    ['operation', ...scale.map((s) => `${kb(s.sessionBytes)}: WCU / RCU`)],
    scale[0]!.operations.map((o, i) => [
      o.operation,
      ...scale.map((s) => `${round(s.operations[i]!.wcu, 2)} / ${round(s.operations[i]!.rcu, 2)}`),
    ]),
  );
  const counter = scale.find((s) => s.counterLayout)!;
  console.log(
    `Counter layout (before sharding), first schedule of ${kb(counter.sessionBytes)}: ${round(counter.counterLayout!.wcuPerSchedule, 2)} WCU / ` +
      `${round(counter.counterLayout!.rcuPerSchedule, 2)} RCU, ${counter.counterLayout!.perSecond} schedules/s before ${counter.counterLayout!.hottestWrite.key} throttles.`,
  );
  console.log();
  printTable(
    ['endpoint (32 connections)', 'requests', 'req/s', 'p50', 'p99', 'statuses'],
    latency.map((l) => [
      l.name,
      String(l.requests),
      String(round(l.requestsPerSecond)),
      `${l.p50Ms} ms`,
      `${l.p99Ms} ms`,
      JSON.stringify(l.statusCodes),
    ]),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
