/**
 * Drains a whole batch page by page (limit 100) like a consumer, feeding
 * last_number back as after_number, in a process of its own so its memory is
 * the drain's alone (the seed ran elsewhere).
 *
 * Mode "handler" drains through the real GetBatchPage handler and reports
 * the process's peak memory. Mode "compare" drains the batch twice at once,
 * page by page: through the handler and with the same requests sent directly
 * (direct-page.ts), alternating which goes first. Each side's time is the sum
 * of its own pages, so a burst of load from elsewhere hits both sides alike.
 * Both modes read one page untimed first (loads and JIT-compiles the code
 * paths): the figures are for a warm container.
 *
 * Input (argv[2], JSON): {mode, batchId, expectedSessions}.
 */
import { readFileSync } from 'node:fs';
import { readPageDirect } from './direct-page';
import { expectStatus, invokePage, loadHandlers } from './invoke';
import { answerParent } from './workers';

export interface DrainInput {
  mode: 'handler' | 'compare';
  batchId: string;
  expectedSessions: number;
}

export interface DrainSide {
  sessions: number;
  events: number;
  pages: number;
  /** Time spent reading pages, less the consumer's JSON.parse of the handler's answers. */
  seconds: number;
  sessionsPerSecond: number;
}

export interface DrainResult {
  mode: DrainInput['mode'];
  handler: DrainSide;
  direct?: DrainSide;
  /** The consumer's JSON.parse of the handler's pages: its work, not the service's, so left out. */
  consumerParseSeconds: number;
  /** Resident set once the modules are loaded, before the first page, MiB. */
  rssBeforeMb: number;
  /** Peak resident set of this process (VmHWM), MiB. */
  peakRssMb: number;
  /** Highest RSS seen by sampling every 20 ms, MiB (a cross-check of VmHWM). */
  sampledPeakRssMb: number;
}

const LIMIT = 100;
const EVENTS_LIMIT = 100;
const MIB = 1024 * 1024;

interface PageRead {
  sessions: number;
  events: number;
  lastNumber: number | null;
}

/** The kernel's high-water mark of this process's resident memory. */
function peakRssBytes(): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) * 1024 : process.memoryUsage().rss;
}

/** One side of the drain: a cursor through the batch and the time its pages took. */
class Drain {
  sessions = 0;
  events = 0;
  pages = 0;
  ms = 0;
  done = false;
  private afterNumber = 0;

  constructor(private readonly read: (afterNumber: number) => Promise<PageRead & { excludedMs?: number }>) {}

  async next(): Promise<void> {
    const started = performance.now();
    const page = await this.read(this.afterNumber);
    this.ms += performance.now() - started - (page.excludedMs ?? 0);
    this.pages++;
    if (page.lastNumber === null) {
      this.done = true;
      return;
    }
    this.sessions += page.sessions;
    this.events += page.events;
    this.afterNumber = page.lastNumber;
  }

  summary(): DrainSide {
    const seconds = this.ms / 1000;
    return { sessions: this.sessions, events: this.events, pages: this.pages, seconds, sessionsPerSecond: this.sessions / seconds };
  }
}

answerParent(async (): Promise<DrainResult> => {
  const input = JSON.parse(process.argv[2]!) as DrainInput;
  const handlers = await loadHandlers();
  const tableName = process.env.TABLE_NAME!;
  const query = (afterNumber: number) => ({ batchId: input.batchId, afterNumber, limit: LIMIT, eventsLimit: EVENTS_LIMIT });

  let consumerParseMs = 0;
  const viaHandler = async (afterNumber: number) => {
    const result = await invokePage(handlers, query(afterNumber));
    expectStatus(result, 200, 'GetBatchPage');
    const parseStarted = performance.now();
    const page = JSON.parse(result.body) as { last_number: number | null; sessions: { events: unknown[] }[] };
    const excludedMs = performance.now() - parseStarted;
    consumerParseMs += excludedMs;
    return {
      sessions: page.sessions.length,
      events: page.sessions.reduce((sum, s) => sum + s.events.length, 0),
      lastNumber: page.last_number,
      excludedMs,
    };
  };
  const direct = (afterNumber: number) => readPageDirect(handlers.documentClient, tableName, { ...query(afterNumber), shards: handlers.shards });

  // One untimed page each way: reads change nothing, so the drain can start on the same page.
  await viaHandler(0);
  if (input.mode === 'compare') await direct(0);
  consumerParseMs = 0;

  const rssBeforeMb = process.memoryUsage().rss / MIB;
  let sampledPeak = process.memoryUsage().rss;
  const sampler = setInterval(() => (sampledPeak = Math.max(sampledPeak, process.memoryUsage().rss)), 20);

  const handlerSide = new Drain(viaHandler);
  const directSide = input.mode === 'compare' ? new Drain(direct) : undefined;
  for (let i = 0; !handlerSide.done || (directSide && !directSide.done); i++) {
    const order = i % 2 === 0 ? [handlerSide, directSide] : [directSide, handlerSide];
    for (const side of order) if (side && !side.done) await side.next();
  }
  clearInterval(sampler);

  for (const side of [handlerSide, directSide]) {
    if (side && side.sessions !== input.expectedSessions) {
      throw new Error(`A drain read ${side.sessions} sessions; the batch has ${input.expectedSessions}`);
    }
  }
  return {
    mode: input.mode,
    handler: handlerSide.summary(),
    direct: directSide?.summary(),
    consumerParseSeconds: consumerParseMs / 1000,
    rssBeforeMb,
    peakRssMb: peakRssBytes() / MIB,
    sampledPeakRssMb: sampledPeak / MIB,
  };
});
