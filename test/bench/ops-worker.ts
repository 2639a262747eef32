/**
 * Round trips of each operation through the real handlers, in a process of
 * its own, counted by SDK middleware on the handlers' DocumentClient. (What
 * they cost is measured on the wire by scale-worker.ts.)
 *
 * Input (argv[2], JSON): {batchId, sessionIds}: the seeded, collecting batch
 * (100+ sessions × 20 events) and two eligible, unscheduled sessions.
 * Releases the seeded batch (and the next one), so it runs after the drain.
 */
import { expectStatus, invokePage, invokeRelease, invokeSchedule, loadHandlers, type Handlers } from './invoke';
import { countRounds, longestChain, type CallSpan } from '../support/round-counter';
import { answerParent } from './workers';

export interface OpsInput {
  batchId: string;
  sessionIds: string[];
}

interface Rounds {
  rounds: number;
  calls: number;
  /** The calls of each round, in order, e.g. ["GetItem + Query", "Query×100"]. */
  operations: string[];
}

export interface OpsResult {
  page: Rounds;
  schedule: Rounds;
  roundTripDetails: Record<string, Rounds>;
  releaseId: string;
}

const PAGE = { afterNumber: 0, limit: 100, eventsLimit: 100 };

answerParent(async (): Promise<OpsResult> => {
  const input = JSON.parse(process.argv[2]!) as OpsInput;
  const handlers = await loadHandlers();
  const db = handlers.documentClient;
  const [first, second] = input.sessionIds as [string, string];
  const releaseId = `bench-release-${Date.now().toString(36)}`;

  const counter = countRounds(db);
  const rounds = async (
    what: string,
    run: () => Promise<{ status: number; body: string }>,
    check: (body: any) => boolean,
  ): Promise<Rounds> => {
    counter.reset();
    const result = await run();
    expectStatus(result, 200, what);
    if (!check(JSON.parse(result.body))) throw new Error(`${what}: unexpected answer ${result.body.slice(0, 300)}`);
    return { rounds: counter.rounds(), calls: counter.calls(), operations: roundsOf(counter.spans()) };
  };

  const fullPage = (body: { sessions: { events: unknown[] }[] }) =>
    body.sessions.length === PAGE.limit && body.sessions.every((s) => s.events.length > 0);

  const page = await rounds('page of 100', () => invokePage(handlers, { batchId: input.batchId, ...PAGE }), fullPage);
  const schedule = await rounds('schedule, first time', () => invokeSchedule(handlers, first), (b) => b.status === 'scheduled');
  const scheduleAgain = await rounds('schedule, again', () => invokeSchedule(handlers, first), (b) => b.status === 'already_scheduled');

  const release = await rounds('release', () => invokeRelease(handlers, releaseId), (b) => b.batch_id === input.batchId);
  const releaseAgain = await rounds('release, replayed', () => invokeRelease(handlers, releaseId), (b) => b.batch_id === input.batchId);
  // The first schedule after a release also rolls the release forward and opens the next batch.
  const scheduleAfterRelease = await rounds(
    'schedule, first after a release',
    () => invokeSchedule(handlers, second),
    (b) => b.status === 'scheduled' && b.batch_id !== input.batchId,
  );
  counter.detach();

  return {
    page,
    schedule,
    roundTripDetails: {
      page_100_sessions: page,
      schedule_first_time: schedule,
      schedule_already_scheduled: scheduleAgain,
      release_first: release,
      release_replayed: releaseAgain,
      schedule_first_after_release: scheduleAfterRelease,
    },
    releaseId,
  };
});

/**
 * The calls of each round: a call's round is one more than the longest chain
 * of calls that had ended before it started (the counter's own measure).
 */
function roundsOf(spans: CallSpan[]): string[] {
  const rounds: string[][] = [];
  for (const span of spans) {
    const round = longestChain(spans.filter((s) => s.end <= span.start));
    (rounds[round] ??= []).push(span.command.replace(/Command$/, ''));
  }
  return rounds.map(summarizeRound);
}

/** ["Query", "Query", "GetItem"] → "GetItem + Query×2". */
function summarizeRound(operations: string[]): string {
  const counts = new Map<string, number>();
  for (const op of operations) counts.set(op, (counts.get(op) ?? 0) + 1);
  return [...counts].sort().map(([op, n]) => (n > 1 ? `${op}×${n}` : op)).join(' + ');
}
