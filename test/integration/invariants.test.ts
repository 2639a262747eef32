/**
 * The README's guarantees 1–5, one describe each, proven through the real
 * handlers on the embedded store (dynalite), with real concurrency. Each was
 * watched failing with its invariant broken on purpose; the break is named
 * above each describe.
 *
 * All tests in this file share one table and so one collecting pointer:
 * each starts from `freshBatch()` and reads batch ids from the answers.
 */
import { performance } from 'node:perf_hooks';
import { documentClient } from '../../shared/data/store-from-env';
import { shardKey } from '../../shared/data/keys';
import { shardOf } from '../../shared/domain/numbering';
import { buildHttpEvent, buildLambdaContext } from '../../infra/local/lambda-event';
import { routeNamed } from '../../shared/routes';
import { freshBatch, seq, walkBatch } from '../support/batch-walk';
import { interceptCalls, SimulatedCrash, type DynamoCall } from '../support/call-interceptor';
import { describeCrashSafety } from './crash-safety';
import {
  createTestTable,
  releaseDirect,
  releaseOverHttp,
  scheduleHandler,
  scheduleOverHttp,
  seedSession,
  uniqueId,
  type JsonResult,
} from '../support/handlers';

const calls = interceptCalls(documentClient);

beforeAll(createTestTable);
afterEach(() => calls.use(undefined));

const seedMany = (count: number, events = 1) => Promise.all(Array.from({ length: count }, () => seedSession({}, events)));

const chunk = <T>(items: T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/** Counts completed requests so another task can wait for "n done" instead of guessing with timers. */
function completionCounter() {
  let count = 0;
  return {
    completed: () => void (count += 1),
    reached: async (n: number) => {
      while (count < n) await sleep(1);
    },
  };
}

/** A fixed, well-spread delay pattern (no randomness: a failure replays the same way). */
const spread = (i: number, maxMs: number) => (i * 7919) % (maxMs + 1);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Fails when commitAssignment's condition drops attribute_not_exists: the concurrent schedules of a session all commit.
describe('invariant 1: exactly once', () => {
  test('concurrent schedules and retries of the same sessions, across a release, give each session one place', async () => {
    await freshBatch();
    const ids = await seedMany(15);
    // Four requests per session, round-robin so each session's requests are spread over the race,
    // and a release once eight of them have answered, while the rest are in flight.
    const requests = Array.from({ length: 4 }, () => ids).flat();
    const progress = completionCounter();
    const [answers, midRelease] = await Promise.all([
      Promise.all(
        requests.map(async (id, i) => {
          await sleep(spread(i, 10));
          const answer = await scheduleOverHttp(id);
          progress.completed();
          return { id, answer };
        }),
      ),
      progress.reached(8).then(() => releaseOverHttp(uniqueId('r-mid'))),
    ]);
    expect(midRelease.status).toBe(200);
    const retries = await Promise.all(ids.map(async (id) => ({ id, answer: await scheduleOverHttp(id) })));

    const places = new Map<string, Set<string>>();
    const scheduledCount = new Map<string, number>();
    for (const { id, answer } of [...answers, ...retries]) {
      expect(answer.status).toBe(200);
      expect(['scheduled', 'already_scheduled']).toContain(answer.body.status);
      places.set(id, (places.get(id) ?? new Set()).add(`${answer.body.batch_id}/${answer.body.session_number}`));
      if (answer.body.status === 'scheduled') scheduledCount.set(id, (scheduledCount.get(id) ?? 0) + 1);
    }
    for (const id of ids) {
      expect({ id, places: [...places.get(id)!] }).toEqual({ id, places: [expect.any(String)] });
      expect({ id, scheduled: scheduledCount.get(id) }).toEqual({ id, scheduled: 1 });
    }

    // What the batches hold agrees: each session once, at the place every answer named.
    const batchIds = new Set([...places.values()].map((p) => [...p][0]!.split('/')[0]!));
    const held = new Map<string, string>();
    for (const batchId of batchIds) {
      const sessions = await walkBatch(batchId);
      const numbers = sessions.map((s) => s.session_number);
      expect(new Set(numbers).size).toBe(numbers.length);
      for (const s of sessions) {
        expect(held.has(s.session_id)).toBe(false);
        held.set(s.session_id, `${batchId}/${s.session_number}`);
      }
    }
    for (const id of ids) expect(held.get(id)).toBe([...places.get(id)!][0]);
  });
});

// Fails when the membership listing uses >= after_number (a page repeats the last session of the one before).
describe('invariant 2: ordered pages', () => {
  test('numbers rise in scheduling order, and walking by last_number with any limit yields each session once, ascending', async () => {
    await freshBatch();
    const ids = await seedMany(15, 2);
    const numbers: number[] = [];
    let batchId = '';
    for (const [i, id] of ids.entries()) {
      // Every fourth session is scheduled by two racing requests: the loser burns a number (a gap).
      const answers: JsonResult[] = await Promise.all(i % 4 === 0 ? [scheduleOverHttp(id), scheduleOverHttp(id)] : [scheduleOverHttp(id)]);
      const placed = answers.find((a) => a.body.status === 'scheduled')!;
      numbers.push(placed.body.session_number);
      batchId ||= placed.body.batch_id;
      expect(placed.body.batch_id).toBe(batchId);
    }
    for (let i = 1; i < numbers.length; i++) expect(numbers[i]).toBeGreaterThan(numbers[i - 1]!);
    expect(numbers.at(-1)! - numbers[0]!).toBeGreaterThan(ids.length - 1); // there are gaps

    await releaseOverHttp(uniqueId('r'));
    for (let limit = 1; limit <= 7; limit++) {
      const walked = await walkBatch(batchId, limit);
      expect({ limit, ids: walked.map((s) => s.session_id) }).toEqual({ limit, ids });
      expect(walked.map((s) => s.session_number)).toEqual(numbers);
      expect(walked.every((s) => s.events.length === 2)).toBe(true);
    }
  });
});

// Fails when touchShard's condition drops attribute_not_exists(release_id): a schedule whose shard was fenced
// after it read it lands in the released batch.
describe('invariant 3: release fence', () => {
  test('every schedule that starts after a release returned lands in a later batch; in-flight ones may land in it', async () => {
    await freshBatch();
    const ids = await seedMany(40);
    await scheduleOverHttp(await seedSession()); // a batch is collecting when the race starts

    // Eight clients schedule five sessions each, one after another; a releaser releases after every
    // six completed schedules, so each release overlaps schedules in flight and is followed by new ones.
    const releases: Array<{ batchSeq: number; returnedAt: number }> = [];
    const schedules: Array<{ id: string; startedAt: number; batchSeq: number }> = [];
    const progress = completionCounter();
    await Promise.all([
      ...chunk(ids, 5).map(async (clientIds) => {
        for (const id of clientIds) {
          const startedAt = performance.now();
          const answer = await scheduleOverHttp(id);
          expect(answer.body.status).toBe('scheduled');
          schedules.push({ id, startedAt, batchSeq: seq(answer.body.batch_id) });
          progress.completed();
        }
      }),
      (async () => {
        for (let round = 1; round <= 5; round++) {
          await progress.reached(round * 6);
          const answer = await releaseOverHttp(uniqueId('r'));
          if (answer.status === 200) releases.push({ batchSeq: seq(answer.body.batch_id), returnedAt: performance.now() });
          else expect(answer.body.error.code).toBe('no_collecting_batch');
        }
      })(),
    ]);

    let startedAfterARelease = 0;
    const violations: string[] = [];
    for (const s of schedules) {
      for (const r of releases) {
        if (s.startedAt <= r.returnedAt) continue;
        startedAfterARelease += 1;
        if (s.batchSeq <= r.batchSeq) violations.push(`${s.id} started after batch ${r.batchSeq} was released, landed in ${s.batchSeq}`);
      }
    }
    expect(violations).toEqual([]);
    // The race really happened: several releases, and schedules that started after them.
    expect(releases.length).toBeGreaterThanOrEqual(3);
    expect(startedAfterARelease).toBeGreaterThan(10);

    // A consumer of each released batch sees exactly the sessions whose answers named it.
    for (const r of releases) {
      const batchId = String(r.batchSeq).padStart(6, '0');
      const named = schedules.filter((s) => s.batchSeq === r.batchSeq).map((s) => s.id).sort();
      const held = (await walkBatch(batchId)).map((s) => s.session_id).filter((id) => ids.includes(id)).sort();
      expect(held).toEqual(named);
    }
  });

  test('a release returning between a schedule’s read of its shard and its fence check: the schedule lands in the next batch', async () => {
    await freshBatch();
    const anchor = await scheduleOverHttp(await seedSession());
    const id = await seedSession();
    let release: JsonResult | undefined;
    calls.use(async (call, send) => {
      // The schedule's fence check: an UpdateItem of its shard that names no release.
      const touch = call.command === 'UpdateItemCommand' && String(call.input.Key?.PK).startsWith('SHARD#') && !JSON.stringify(call.input).includes('r-between');
      if (touch && !release) {
        calls.use(undefined);
        release = await releaseOverHttp(uniqueId('r-between'));
      }
      return send();
    });
    const answer = await scheduleOverHttp(id);
    expect(release).toMatchObject({ status: 200, body: { batch_id: anchor.body.batch_id } });
    expect(answer.body.status).toBe('scheduled');
    expect(seq(answer.body.batch_id)).toBe(seq(anchor.body.batch_id) + 1);
  });

  test('a release racing schedules on different shards: a shard not fenced yet still takes sessions, a fenced one rolls the release forward', async () => {
    await freshBatch();
    const onShard = async (shard: number): Promise<string> => {
      for (;;) {
        const id = await seedSession();
        if (shardOf(id, Number(process.env.SHARD_COUNT)) === shard) return id;
      }
    };
    const [a, b] = [0, 1];
    const anchors = [await scheduleOverHttp(await onShard(a)), await scheduleOverHttp(await onShard(b))];
    const batchId = anchors[0]!.body.batch_id;
    expect(anchors[1]!.body.batch_id).toBe(batchId);

    // The release's fence of shard a is held back until the schedules below have run.
    const releaseId = uniqueId('r');
    let reached!: () => void;
    const holding = new Promise<void>((resolve) => (reached = resolve));
    let letGo!: () => void;
    const gate = new Promise<void>((resolve) => (letGo = resolve));
    let held = false;
    calls.use(async (call, send) => {
      const fencesA = call.command === 'UpdateItemCommand' && call.input.Key?.PK === shardKey(a).PK && JSON.stringify(call.input).includes(releaseId);
      if (fencesA && !held) {
        held = true;
        reached();
        await gate;
      }
      return send();
    });
    const release = releaseOverHttp(releaseId);
    await holding;

    // Shard a is not fenced yet: a schedule there is in flight with the release, and lands in its batch.
    const onA = await scheduleOverHttp(await onShard(a));
    expect(onA.body).toMatchObject({ status: 'scheduled', batch_id: batchId });
    // Shard b is fenced: its schedule finishes the release itself (fencing a too) and opens the next batch.
    const onB = await scheduleOverHttp(await onShard(b));
    expect(seq(onB.body.batch_id)).toBe(seq(batchId) + 1);
    letGo();
    expect(await release).toMatchObject({ status: 200, body: { release_id: releaseId, batch_id: batchId } });
    calls.use(undefined);

    // Once the release returned, shard a takes sessions for the next batch only.
    const afterOnA = await scheduleOverHttp(await onShard(a));
    expect(afterOnA.body.batch_id).toBe(onB.body.batch_id);
    expect((await walkBatch(batchId)).map((s) => s.session_id).sort()).toEqual(
      [anchors[0]!.body.session_id, anchors[1]!.body.session_id, onA.body.session_id].sort(),
    );
    expect((await walkBatch(onB.body.batch_id)).map((s) => s.session_id).sort()).toEqual([onB.body.session_id, afterOnA.body.session_id].sort());
  });

  // The other half of the fence: the release workflow waits one schedule timeout before announcing a
  // batch, so a schedule must not assign past its own deadline. Fails without the deadline check.
  test('a schedule that runs out of time before assigning answers 503 and lands nowhere', async () => {
    await freshBatch();
    const id = await seedSession();
    const route = routeNamed('ScheduleSession');
    const event = buildHttpEvent(
      { method: route.method, url: route.path, body: JSON.stringify({ session_id: id }), headers: { 'content-type': 'application/json' } },
      `${route.method} ${route.path}`,
    );
    // Half a second left: less than the margin the handler keeps for answering.
    const late = await scheduleHandler(event, buildLambdaContext(route.name, 0.5));
    expect(late.statusCode).toBe(503);
    expect(late.headers?.['retry-after']).toBe('1');
    expect(JSON.parse(late.body!).error.code).toBe('service_unavailable');

    const retried = await scheduleOverHttp(id);
    expect(retried.body).toMatchObject({ status: 'scheduled' });
    expect(retried.body.session_number).toBeGreaterThan(1); // the late request's number is a gap
  });
});

// Fails when fencePointer drops attribute_not_exists(release_id) (8 of 12 racing ids release one batch),
// when finishRelease writes no record, or when the release state is read in parallel again.
describe('invariant 4: release idempotency', () => {
  test('distinct release ids racing never release the same batch', async () => {
    await freshBatch();
    await scheduleOverHttp(await seedSession());
    const racing = await Promise.all(Array.from({ length: 12 }, () => releaseOverHttp(uniqueId('r'))));
    expect(racing.filter((a) => a.status === 200)).toHaveLength(1);
    expect(racing.filter((a) => a.status === 404).map((a) => a.body.error.code)).toEqual(Array(11).fill('no_collecting_batch'));

    // Releases racing schedules: four clients schedule, three releasers fire together after every
    // three completed schedules. Every successful release has a batch of its own.
    const ids = await seedMany(16);
    const progress = completionCounter();
    const answers: JsonResult[] = [];
    await Promise.all([
      ...chunk(ids, 4).map(async (clientIds) => {
        for (const id of clientIds) {
          answers.push(await scheduleOverHttp(id));
          progress.completed();
        }
      }),
      ...[1, 2, 3].map(async () => {
        for (let round = 1; round <= 5; round++) {
          await progress.reached(round * 3);
          answers.push(await releaseOverHttp(uniqueId('r')));
        }
      }),
    ]);
    const released = answers.filter((a) => a.status === 200 && 'release_id' in a.body).map((a) => a.body.batch_id);
    expect(released.length).toBeGreaterThan(1);
    expect(new Set(released).size).toBe(released.length);
  });

  test('a repeated release id returns its original body forever, over HTTP and from the workflow', async () => {
    await freshBatch();
    await scheduleOverHttp(await seedSession());
    const releaseId = uniqueId('r');
    const original = await releaseOverHttp(releaseId);
    expect(original).toMatchObject({ status: 200, body: { release_id: releaseId } });

    for (let later = 0; later < 3; later++) {
      await scheduleOverHttp(await seedSession());
      await releaseOverHttp(uniqueId('r'));
      expect(await releaseOverHttp(releaseId)).toEqual(original);
      await expect(releaseDirect({ release_id: releaseId })).resolves.toEqual(original.body);
    }
    // Concurrent repeats agree too.
    const repeats = await Promise.all(Array.from({ length: 8 }, () => releaseOverHttp(releaseId)));
    for (const repeat of repeats) expect(repeat).toEqual(original);
  });

  // Regression: the retry read its (absent) release record and the pointer in parallel. A schedule
  // rolling the release forward in between (record written, next batch opened) made the retry fence
  // the next batch too, and overwrite its record: one id, two batches, and a changed answer.
  test('a retried release answers its own batch even when a schedule rolls it forward between its reads', async () => {
    await freshBatch();
    const first = await scheduleOverHttp(await seedSession());
    const releaseId = uniqueId('r');
    const isReleaseRecordRead = (call: DynamoCall) => call.command === 'GetItemCommand' && call.input.Key?.PK === `RELEASE#${releaseId}`;
    const isPointerRead = (call: DynamoCall) => call.command === 'GetItemCommand' && call.input.Key?.PK === 'BATCH';

    // The first try dies after fencing the pointer, before writing its record.
    calls.use(async (call, send) => {
      if (call.command === 'PutItemCommand') throw new SimulatedCrash('crash before the release record');
      return send();
    });
    expect((await releaseOverHttp(releaseId)).status).toBe(500);

    // The retry: right after its record read (absent), a schedule arrives and rolls the release
    // forward. Its pointer read, if in flight alongside the record read, is answered after that.
    const next = await seedSession();
    let recordReadStarted = false;
    let pointerReadSeen = false;
    let rolledForward!: () => void;
    const rolledForwardDone = new Promise<void>((resolve) => (rolledForward = resolve));
    calls.use(async (call, send) => {
      if (isReleaseRecordRead(call) && !recordReadStarted) {
        recordReadStarted = true;
        const answer = await send();
        await scheduleOverHttp(next);
        rolledForward();
        return answer;
      }
      if (isPointerRead(call) && !pointerReadSeen) {
        pointerReadSeen = true;
        await new Promise((resolve) => setImmediate(resolve)); // a parallel record read has started by now
        if (recordReadStarted) await rolledForwardDone;
      }
      return send();
    });
    const retried = await releaseOverHttp(releaseId);
    calls.use(undefined);
    expect(retried).toMatchObject({ status: 200, body: { release_id: releaseId, batch_id: first.body.batch_id } });

    // The next batch (where the schedule landed) is still collecting, and the id still answers as before.
    const nextPlace = await scheduleOverHttp(next);
    expect(seq(nextPlace.body.batch_id)).toBe(seq(first.body.batch_id) + 1);
    const other = await releaseOverHttp(uniqueId('r'));
    expect(other).toMatchObject({ status: 200, body: { batch_id: nextPlace.body.batch_id } });
    expect(await releaseOverHttp(releaseId)).toEqual(retried);
  });
});

// Fails when a schedule opens the next batch without rolling the release forward, or when a
// release id does not finish its own fenced release.
describeCrashSafety(calls);
