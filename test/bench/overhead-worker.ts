/**
 * handler_overhead_ratio, in a process of its own: a page of 100 sessions ×
 * 20 events through the real GetBatchPage handler (A) against the same
 * requests sent directly (B), interleaved (A B, B A, A B…) after a warm-up, both
 * on the one DocumentClient the handlers use, so client and connection
 * settings are the same and only the service's own work differs.
 *
 * Input (argv[2], JSON): {batchId, pageStarts, runs, warmup}: pageStarts are
 * the after_number of each full page of 100 in the batch.
 */
import { readPageDirect } from './direct-page';
import { expectStatus, invokePage, loadHandlers, type PageQuery } from './invoke';
import { recordRequests, requestSet } from './sdk-probes';
import { median, percentile } from './stats';
import { answerParent } from './workers';

export interface OverheadInput {
  batchId: string;
  pageStarts: number[];
  runs: number;
  warmup: number;
}

export interface OverheadResult {
  runs: number;
  handlerMs: { median: number; p90: number; samples: number[] };
  directMs: { median: number; p90: number; samples: number[] };
  ratio: number;
  /** Median CPU time this process spent per page: the service's own work shows as the difference. */
  medianCpuMs: { handler: number; direct: number };
  /** The direct script sent exactly the handler's requests (compared as sorted wire bodies). */
  sameRequests: boolean;
  requestsPerPage: number;
  pageBytes: number;
}

const PAGE_SIZE = 100;
const EVENTS_LIMIT = 100;

answerParent(async (): Promise<OverheadResult> => {
  const input = JSON.parse(process.argv[2]!) as OverheadInput;
  const tableName = process.env.TABLE_NAME!;
  const handlers = await loadHandlers();
  const db = handlers.documentClient;
  // Each pair reads its own page of the batch, the same one for A and B.
  const query = (i: number): PageQuery => ({
    batchId: input.batchId,
    afterNumber: input.pageStarts[i % input.pageStarts.length]!,
    limit: PAGE_SIZE,
    eventsLimit: EVENTS_LIMIT,
  });

  const viaHandler = async (q: PageQuery) => {
    const result = await invokePage(handlers, q);
    expectStatus(result, 200, 'GetBatchPage');
    return result.body.length;
  };
  const direct = (q: PageQuery) => readPageDirect(db, tableName, { ...q, shards: handlers.shards });

  // Prove B is the same work as A: record both sides' wire requests for one page.
  const recorder = recordRequests(db);
  const pageBytes = await viaHandler(query(0));
  const handlerRequests = requestSet(recorder.results.splice(0));
  const directPage = await direct(query(0));
  const directRequests = requestSet(recorder.results.splice(0));
  recorder.detach();
  if (directPage.sessions !== PAGE_SIZE) throw new Error(`The direct page had ${directPage.sessions} sessions`);
  const sameRequests = JSON.stringify(handlerRequests) === JSON.stringify(directRequests);

  for (let i = 0; i < input.warmup; i++) {
    await viaHandler(query(i));
    await direct(query(i));
  }

  const handlerMs: number[] = [];
  const directMs: number[] = [];
  // CPU time of this process per page: the client-side work, much less disturbed by other load than wall time.
  const cpuMs = { handler: [] as number[], direct: [] as number[] };
  const cpuSince = (start: NodeJS.CpuUsage) => {
    const used = process.cpuUsage(start);
    return (used.user + used.system) / 1000;
  };
  const timed = async (side: 'handler' | 'direct', q: PageQuery) => {
    const cpu = process.cpuUsage();
    const started = performance.now();
    await (side === 'handler' ? viaHandler(q) : direct(q));
    (side === 'handler' ? handlerMs : directMs).push(performance.now() - started);
    cpuMs[side].push(cpuSince(cpu));
  };
  // Pairs in A-B, B-A order alternately, so neither side always runs second (after the other's garbage).
  for (let i = 0; i < input.runs; i++) {
    const q = query(i);
    const order = i % 2 === 0 ? (['handler', 'direct'] as const) : (['direct', 'handler'] as const);
    for (const side of order) await timed(side, q);
  }

  const summary = (samples: number[]) => ({
    median: median(samples),
    p90: percentile(samples, 90),
    samples: samples.map((ms) => Math.round(ms * 10) / 10),
  });
  return {
    runs: input.runs,
    handlerMs: summary(handlerMs),
    directMs: summary(directMs),
    ratio: median(handlerMs) / median(directMs),
    medianCpuMs: { handler: median(cpuMs.handler), direct: median(cpuMs.direct) },
    sameRequests,
    requestsPerPage: handlerRequests.length,
    pageBytes,
  };
});
