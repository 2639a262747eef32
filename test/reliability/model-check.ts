/**
 * Model-based concurrency test (invariants 1–4 of the README): fast-check generates
 * groups of schedule / page / release operations; each group runs
 * concurrently (Promise.all) against the real handlers on dynalite, groups run
 * one after another. After each run every answer is checked against a simple
 * model of what the contract allows, and the final store is read back.
 *
 * The table is shared by all runs of this file and the handlers read
 * TABLE_NAME once, so each run uses fresh session and release ids and reasons
 * about batches relative to the collecting pointer it finds when it starts.
 *
 * Real time order comes from a logical clock ticked at the start and the end
 * of every request: "A ended before B started" is exact on one event loop.
 *
 * Registered by model.test.ts (on dynalite) and model-realism.test.ts
 * (through the realism proxy: index lag, and per-key throttling, under which
 * a request may also answer 503 with Retry-After; then the model checks that
 * nothing was lost, duplicated or left stuck: each session a 503 left
 * unanswered is scheduled by a retry afterwards, exactly once).
 *
 * MODEL_RUNS=2000 npx jest test/reliability/model.test.ts  for a longer search.
 */
import fc from 'fast-check';
import { batchIdOf, batchSeqOf } from '../../shared/domain/model';
import { createDocumentClient } from '../../shared/data/client';
import { sessionStore, tableOf } from '../../shared/data/dynamo-store';
import { documentClient, table } from '../../shared/data/store-from-env';
import {
  createTestTable,
  pageOverHttp,
  releaseOverHttp,
  scheduleOverHttp,
  seedSession,
  uniqueId,
  type JsonResult,
} from '../support/handlers';
import { seededRandom } from '../support/seeded-random';

/** What the model reads back: straight from dynalite when the handlers go through the realism proxy, so no check is throttled. */
const store = sessionStore(
  process.env.DYNALITE_ENDPOINT ? tableOf(createDocumentClient({ endpoint: process.env.DYNALITE_ENDPOINT }), table.tableName) : table,
);

const RELEASE_IDS_PER_RUN = 3;

export interface ModelOptions {
  runs: number;
  /** Requests may meet throttling past the SDK's retries: 503 with Retry-After is then a valid answer. */
  throttled: boolean;
}

type SessionKind = 'withEvents' | 'irrelevantNoEvents' | 'payload' | 'noEvents';

type Op =
  | { kind: 'schedule'; session: number }
  | { kind: 'scheduleUnknown' }
  | { kind: 'page'; batchOffset: number; limit: number }
  | { kind: 'release'; releaseId: number };

interface Scenario {
  sessions: SessionKind[];
  groups: Op[][];
  /** Each DynamoDB call waits a pseudo-random 0..jitterMs first, so races hit different orders. */
  jitterMs: number;
  jitterSeed: number;
}

// Small integers shrink towards simple scenarios: fewer sessions, fewer groups, the first id.
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('schedule' as const), session: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('scheduleUnknown' as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('page' as const),
      batchOffset: fc.nat(2),
      limit: fc.integer({ min: 1, max: 4 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('release' as const), releaseId: fc.nat(RELEASE_IDS_PER_RUN - 1) }) },
);

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  sessions: fc.array(
    fc.constantFrom<SessionKind>('withEvents', 'withEvents', 'irrelevantNoEvents', 'payload', 'noEvents'),
    { minLength: 1, maxLength: 6 },
  ),
  groups: fc.array(fc.array(opArb, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 5 }),
  jitterMs: fc.constantFrom(0, 0, 3, 20),
  jitterSeed: fc.integer(),
});


let jitter: { random: () => number; ms: number } | undefined;
/** Delays every DynamoDB call of the handlers while a run with jitter is going. */
function installJitter(): void {
  documentClient.middlewareStack.add(
    (next) => async (args) => {
      if (jitter && jitter.ms > 0) await new Promise((resolve) => setTimeout(resolve, jitter!.random() * jitter!.ms));
      return next(args);
    },
    { step: 'initialize', name: 'modelJitter' },
  );
}

interface SeededSession {
  id: string;
  kind: SessionKind;
  eventCount: number;
}

interface Timed<T> {
  op: T;
  start: number;
  end: number;
  result: JsonResult;
}

type ScheduleCall = Timed<{ sessionId: string; kind: SessionKind | 'unknown' }>;
type ReleaseCall = Timed<{ releaseId: string }>;
type PageCall = Timed<{ batchId: string; limit: number }>;

const isEligible = (kind: SessionKind | 'unknown') => kind === 'withEvents' || kind === 'irrelevantNoEvents';
const seqOf = (batchId: string): number => batchSeqOf(batchId) ?? Number.NaN;
/** (batch, number) as one comparable value: batches are ordered, numbers rise within one. */
const position = (body: { batch_id: string; session_number: number }) => [seqOf(body.batch_id), body.session_number];
const before = (a: number[], b: number[]) => a[0]! < b[0]! || (a[0] === b[0] && a[1]! < b[1]!);

async function seed(kinds: SessionKind[]): Promise<SeededSession[]> {
  return Promise.all(
    kinds.map(async (kind, i) => {
      const eventCount = kind === 'withEvents' || kind === 'payload' ? 1 + (i % 2) : 0;
      const id = await seedSession(
        { is_irrelevant: kind === 'irrelevantNoEvents', is_payload_search: kind === 'payload' },
        eventCount,
      );
      return { id, kind, eventCount };
    }),
  );
}

/** Runs one scenario and returns every call with its logical start and end times. */
async function runScenario(scenario: Scenario, sessions: SeededSession[], releaseIds: string[], startSeq: number) {
  let clock = 0;
  const timed = async <T>(op: T, call: () => Promise<JsonResult>): Promise<Timed<T>> => {
    const start = ++clock;
    const result = await call();
    return { op, start, end: ++clock, result };
  };
  const schedules: ScheduleCall[] = [];
  const releases: ReleaseCall[] = [];
  const pages: PageCall[] = [];
  const unknownIds: string[] = [];

  for (const group of scenario.groups) {
    await Promise.all(
      group.map(async (op) => {
        switch (op.kind) {
          case 'schedule': {
            const session = sessions[op.session % sessions.length]!;
            schedules.push(await timed({ sessionId: session.id, kind: session.kind }, () => scheduleOverHttp(session.id)));
            return;
          }
          case 'scheduleUnknown': {
            const id = uniqueId('unknown');
            unknownIds.push(id);
            schedules.push(await timed({ sessionId: id, kind: 'unknown' as const }, () => scheduleOverHttp(id)));
            return;
          }
          case 'page': {
            const batchId = batchIdOf(startSeq + op.batchOffset);
            pages.push(await timed({ batchId, limit: op.limit }, () => pageOverHttp({ batch_id: batchId, limit: op.limit })));
            return;
          }
          case 'release': {
            const releaseId = releaseIds[op.releaseId]!;
            releases.push(await timed({ releaseId }, () => releaseOverHttp(releaseId)));
            return;
          }
        }
      }),
    );
  }
  return { schedules, releases, pages, unknownIds };
}

/** Walks a batch page by page, feeding last_number back, and returns every session seen in order. */
async function walkBatch(batchId: string, limit: number) {
  const seen: Array<{ session_id: string; session_number: number; batch_id: string }> = [];
  let after = 0;
  for (let guard = 0; guard < 10_000; guard++) {
    const page = await untilServed(() => pageOverHttp({ batch_id: batchId, after_number: after, limit }));
    if (page.status !== 200) throw new Error(`walking batch ${batchId}: ${page.status} ${JSON.stringify(page.body)}`);
    seen.push(...page.body.sessions);
    if (page.body.last_number === null) return seen;
    after = page.body.last_number;
  }
  throw new Error(`walking batch ${batchId} did not end`);
}

const isBusy = (result: JsonResult) =>
  result.status === 503 && result.body?.error?.code === 'service_unavailable' && Number(result.headers['retry-after']) >= 1;

/** A request sent again, after its Retry-After, for as long as the service answers that it is busy. */
async function untilServed(send: () => Promise<JsonResult>): Promise<JsonResult> {
  for (let attempt = 0; ; attempt++) {
    const result = await send();
    if (!isBusy(result) || attempt === 20) return result;
    await new Promise((resolve) => setTimeout(resolve, Number(result.headers['retry-after']) * 1000));
  }
}

async function checkRun(scenario: Scenario, options: ModelOptions): Promise<void> {
  const runTag = uniqueId('run');
  const sessions = await seed(scenario.sessions);
  const releaseIds = Array.from({ length: RELEASE_IDS_PER_RUN }, (_, i) => `${runTag}-r${i}`);
  const startPointer = await store.readPointer();
  const startSeq = startPointer?.batchSeq ?? 1;
  const startCollecting = startPointer && !startPointer.release ? startPointer.batchId : undefined;

  jitter = { random: seededRandom(scenario.jitterSeed), ms: scenario.jitterMs };
  const { schedules, releases, pages, unknownIds } = await runScenario(scenario, sessions, releaseIds, startSeq).finally(
    () => (jitter = undefined),
  );
  const violations: string[] = [];
  const fail = (message: string) => violations.push(message);
  // Throttled past the SDK's retries: the answer says so, and the request may or may not have taken effect.
  const busy = (result: JsonResult) => options.throttled && isBusy(result);

  // No request in this model is malformed or meets an outage: never a 5xx, but for 503s of throttling.
  for (const call of [...schedules, ...releases, ...pages]) {
    if (call.result.status >= 500 && !busy(call.result)) fail(`5xx: ${JSON.stringify(call.op)} → ${call.result.status} ${JSON.stringify(call.result.body)}`);
  }

  // Each schedule answer matches the session's kind.
  for (const call of schedules) {
    if (busy(call.result)) continue;
    const { kind, sessionId } = call.op;
    const { status, body } = call.result;
    const expectOk = (ok: boolean) => ok || fail(`schedule ${kind} ${sessionId} → ${status} ${JSON.stringify(body)}`);
    if (kind === 'unknown') expectOk(status === 404 && body.error?.code === 'session_not_found');
    else if (kind === 'payload') expectOk(status === 200 && body.status === 'skipped' && body.reason === 'payload_search');
    else if (kind === 'noEvents') expectOk(status === 200 && body.status === 'skipped' && body.reason === 'no_events');
    else expectOk(status === 200 && (body.status === 'scheduled' || body.status === 'already_scheduled'));
  }

  // Invariant 1, exactly once: the stored assignment is the one every answer named, and one request won it.
  const finalAssignment = new Map<string, { batchId: string; sessionNumber: number }>();
  for (const session of sessions) {
    const found = await store.findSession(session.id);
    const assignment = found?.session.assignment;
    const calls = schedules.filter((c) => c.op.sessionId === session.id);
    const scheduledCalls = calls.filter((c) => c.result.body?.status === 'scheduled');
    const busyCalls = calls.filter((c) => busy(c.result));
    if (!isEligible(session.kind)) {
      if (assignment) fail(`${session.kind} session ${session.id} is in batch ${assignment.batchId}`);
      continue;
    }
    if (calls.length === 0) {
      if (assignment) fail(`session ${session.id} was never scheduled but is in batch ${assignment.batchId}`);
      continue;
    }
    if (busyCalls.length > 0) {
      // Not lost, not stuck: scheduled again once the load is gone, it is scheduled exactly once.
      const retried = await untilServed(() => scheduleOverHttp(session.id));
      const expected = assignment ? 'already_scheduled' : scheduledCalls.length === 0 ? 'scheduled' : 'already_scheduled';
      if (retried.status !== 200 || retried.body.status !== expected) {
        fail(`session ${session.id}, retried after ${busyCalls.length} busy answer(s), → ${retried.status} ${JSON.stringify(retried.body)}`);
        continue;
      }
      if (!assignment) {
        finalAssignment.set(session.id, { batchId: retried.body.batch_id, sessionNumber: retried.body.session_number });
        continue;
      }
      if (retried.body.batch_id !== assignment.batchId || retried.body.session_number !== assignment.sessionNumber) {
        fail(`session ${session.id}, retried, answered ${retried.body.batch_id}/${retried.body.session_number} but is stored elsewhere`);
      }
    }
    if (!assignment) {
      fail(`session ${session.id} was scheduled but has no assignment`);
      continue;
    }
    finalAssignment.set(session.id, assignment);
    const wonBy = scheduledCalls.length + (busyCalls.length > 0 && scheduledCalls.length === 0 ? 1 : 0);
    if (wonBy !== 1) fail(`session ${session.id} answered "scheduled" ${scheduledCalls.length} times`);
    for (const call of calls) {
      if (busy(call.result)) continue;
      const { batch_id, session_number } = call.result.body;
      if (batch_id !== assignment.batchId || session_number !== assignment.sessionNumber) {
        fail(`session ${session.id} answered ${batch_id}/${session_number} but is stored as ${assignment.batchId}/${assignment.sessionNumber}`);
      }
    }
  }
  for (const id of unknownIds) if (await store.findSession(id)) fail(`unknown session ${id} was created`);

  // Invariant 2, order: a session scheduled after another one returned gets a later (batch, number).
  const firstSchedulings = schedules.filter((c) => c.result.body?.status === 'scheduled');
  for (const a of firstSchedulings) {
    for (const b of firstSchedulings) {
      if (a.end < b.start && !before(position(a.result.body), position(b.result.body))) {
        fail(`${a.op.sessionId} (${a.result.body.batch_id}/${a.result.body.session_number}) returned before ${b.op.sessionId} started but got a later place than ${b.result.body.batch_id}/${b.result.body.session_number}`);
      }
    }
  }

  // Invariant 4, idempotency: one body per release id, and a repeat after a success is that success.
  const releasedBy = new Map<string, { body: any; firstStart: number; firstEnd: number }>();
  for (const call of releases) {
    const { status, body } = call.result;
    if (busy(call.result)) continue;
    if (status === 404 && body.error?.code === 'no_collecting_batch') continue;
    if (status !== 200) {
      fail(`release ${call.op.releaseId} → ${status} ${JSON.stringify(body)}`);
      continue;
    }
    const known = releasedBy.get(call.op.releaseId);
    if (!known) {
      const firstStart = Math.min(...releases.filter((c) => c.op.releaseId === call.op.releaseId).map((c) => c.start));
      releasedBy.set(call.op.releaseId, { body, firstStart, firstEnd: call.end });
    } else {
      if (JSON.stringify(known.body) !== JSON.stringify(body)) {
        fail(`release ${call.op.releaseId} answered ${JSON.stringify(known.body)} and ${JSON.stringify(body)}`);
      }
      known.firstEnd = Math.min(known.firstEnd, call.end);
    }
  }
  for (const call of releases) {
    const success = releasedBy.get(call.op.releaseId);
    if (success && call.start > success.firstEnd && call.result.status !== 200 && !busy(call.result)) {
      fail(`release ${call.op.releaseId} succeeded, then a repeat answered ${call.result.status}`);
    }
  }
  const releasedBatches = new Map<string, string>();
  for (const [releaseId, { body }] of releasedBy) {
    if (body.release_id !== releaseId) fail(`release ${releaseId} answered release_id ${body.release_id}`);
    if (!(seqOf(body.batch_id) >= startSeq)) fail(`release ${releaseId} released ${body.batch_id}, before this run's first batch`);
    const other = releasedBatches.get(body.batch_id);
    if (other) fail(`releases ${other} and ${releaseId} both released batch ${body.batch_id}`);
    releasedBatches.set(body.batch_id, releaseId);
  }

  // Invariant 3, the fence: once a release returned, later schedules land in a later batch;
  // schedules that returned before it started are in it or earlier, numbered within its last number.
  const fencedBeforeRun = startPointer ? (startPointer.release ? startPointer.batchSeq : startPointer.batchSeq - 1) : 0;
  for (const s of firstSchedulings) {
    if (seqOf(s.result.body.batch_id) <= fencedBeforeRun) {
      fail(`${s.op.sessionId} landed in ${s.result.body.batch_id}, released before this run began`);
    }
  }
  for (const [releaseId, { body, firstStart, firstEnd }] of releasedBy) {
    const releasedSeq = seqOf(body.batch_id);
    for (const s of firstSchedulings) {
      const seq = seqOf(s.result.body.batch_id);
      if (s.start > firstEnd && seq <= releasedSeq) {
        fail(`${s.op.sessionId} started after release ${releaseId} of ${body.batch_id} returned, but landed in ${s.result.body.batch_id}`);
      }
      if (s.end < firstStart && seq > releasedSeq) {
        fail(`${s.op.sessionId} returned before release ${releaseId} started, but is in ${s.result.body.batch_id}, after the released ${body.batch_id}`);
      }
    }
    for (const [sessionId, assignment] of finalAssignment) {
      if (assignment.batchId === body.batch_id && assignment.sessionNumber > body.last_session_number) {
        fail(`${sessionId} has number ${assignment.sessionNumber} in ${body.batch_id}, past the release's last_session_number ${body.last_session_number}`);
      }
    }
  }
  // "No collecting batch" is only right if every batch known to be collecting when the release
  // started had been released by then (by a release of this run that started before it ended).
  // A release that answered busy may have released a batch: then no_collecting_batch cannot be judged.
  const releasedUnseen = releases.some((call) => busy(call.result));
  for (const call of releases) {
    if (call.result.status !== 404 || releasedUnseen) continue;
    const collecting = new Set<string>(startCollecting ? [startCollecting] : []);
    for (const s of firstSchedulings) if (s.end < call.start) collecting.add(s.result.body.batch_id);
    for (const batchId of collecting) {
      const releaseId = releasedBatches.get(batchId);
      if (!releaseId || releasedBy.get(releaseId)!.firstStart > call.end) {
        fail(`release ${call.op.releaseId} answered no_collecting_batch while batch ${batchId} was collecting`);
      }
    }
  }

  // Pages taken during the run: well-formed, and consistent with the final assignments.
  const seededById = new Map(sessions.map((s) => [s.id, s]));
  for (const call of pages) {
    const { status, body } = call.result;
    if (busy(call.result)) continue;
    if (status === 404) {
      if (body.error?.code !== 'batch_not_found') fail(`page ${call.op.batchId} → 404 ${JSON.stringify(body)}`);
      const knownBefore = [...firstSchedulings, ...releases.filter((r) => r.result.status === 200)]
        .filter((c) => c.end < call.start)
        .some((c) => seqOf(c.result.body.batch_id) >= seqOf(call.op.batchId));
      if (knownBefore || (startPointer && seqOf(call.op.batchId) <= startPointer.batchSeq)) {
        fail(`page ${call.op.batchId} → batch_not_found, but the batch was known to exist`);
      }
      continue;
    }
    if (status !== 200) {
      fail(`page ${call.op.batchId} → ${status} ${JSON.stringify(body)}`);
      continue;
    }
    const numbers: number[] = body.sessions.map((s: any) => s.session_number);
    if (body.sessions.length > call.op.limit) fail(`page ${call.op.batchId} returned ${body.sessions.length} > limit ${call.op.limit}`);
    if (numbers.some((n, i) => i > 0 && n <= numbers[i - 1]!)) fail(`page ${call.op.batchId} numbers not rising: ${numbers}`);
    if (body.last_number !== (numbers.at(-1) ?? null)) fail(`page ${call.op.batchId} last_number ${body.last_number} for ${numbers}`);
    for (const s of body.sessions) {
      if (s.batch_id !== call.op.batchId) fail(`page ${call.op.batchId} returned a session of ${s.batch_id}`);
      const seeded = seededById.get(s.session_id);
      if (!seeded) continue;
      const assignment = finalAssignment.get(s.session_id);
      if (!assignment || assignment.batchId !== s.batch_id || assignment.sessionNumber !== s.session_number) {
        fail(`page showed ${s.session_id} as ${s.batch_id}/${s.session_number}, stored as ${JSON.stringify(assignment)}`);
      }
      if (s.events.length !== seeded.eventCount) fail(`page showed ${s.session_id} with ${s.events.length} of ${seeded.eventCount} events`);
    }
  }

  // Walking every batch this run touched by last_number sees each of its sessions exactly once.
  const endPointer = await store.readPointer();
  const seenIn = new Map<string, string[]>();
  for (let seq = startSeq; endPointer && seq <= endPointer.batchSeq; seq++) {
    const batchId = batchIdOf(seq);
    const walked = await walkBatch(batchId, 1 + (seq % 3));
    const numbers = walked.map((s) => s.session_number);
    if (numbers.some((n, i) => i > 0 && n <= numbers[i - 1]!)) fail(`walk of ${batchId} not rising: ${numbers}`);
    for (const s of walked) {
      if (!seededById.has(s.session_id)) continue;
      seenIn.set(s.session_id, [...(seenIn.get(s.session_id) ?? []), batchId]);
      const assignment = finalAssignment.get(s.session_id);
      if (assignment?.batchId !== batchId || assignment.sessionNumber !== s.session_number) {
        fail(`walk of ${batchId} showed ${s.session_id} as number ${s.session_number}, stored as ${JSON.stringify(assignment)}`);
      }
    }
  }
  for (const [sessionId] of finalAssignment) {
    const seen = seenIn.get(sessionId) ?? [];
    if (seen.length !== 1) fail(`walks saw ${sessionId} ${seen.length} times (${seen})`);
  }
  for (const [sessionId, batches] of seenIn) {
    if (!finalAssignment.has(sessionId)) fail(`walk saw ${sessionId}, which has no assignment, in ${batches}`);
  }

  if (violations.length > 0) {
    throw new Error(`${violations.length} invariant violation(s):\n${violations.slice(0, 10).join('\n')}`);
  }
}

/** Registers the model test of a test file: its table, the jitter, and the fast-check property. */
export function describeModel(options: ModelOptions): void {
  beforeAll(async () => {
    await createTestTable();
    installJitter();
  });

  test(`concurrent schedule/page/release interleavings keep invariants 1–4 (${options.runs} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, (scenario) => checkRun(scenario, options)),
      { numRuns: options.runs },
    );
  }, 60_000 + options.runs * 1_000);
}
