import { ServiceUnavailable, SessionNotFound } from '../../shared/domain/errors';
import { NUMBERS_PER_MS, sessionNumberAt, shardOf } from '../../shared/domain/numbering';
import { releaseCollectingBatch } from '../../shared/domain/release-batch';
import { scheduleSession, type ScheduleOptions } from '../../shared/domain/schedule-session';
import { MemorySessionStore } from '../support/memory-store';
import { uniqueId } from '../support/fixtures';
import { seed } from './fixtures';

const OPENED = 1_700_000_000_000;

let store: MemorySessionStore;
let clock: number;
beforeEach(() => {
  store = new MemorySessionStore();
  clock = OPENED;
});

/** A clock that moves on by a millisecond every time it is read, and random bits that are always 0. */
const options = (extra: ScheduleOptions = {}): ScheduleOptions => ({ now: () => clock++, random: () => 0, ...extra });
const schedule = (id: string, extra?: ScheduleOptions) => scheduleSession(store, id, options(extra));

describe('scheduleSession outcomes', () => {
  test('an unknown session is SessionNotFound and opens no batch', async () => {
    const id = uniqueId();
    await expect(schedule(id)).rejects.toEqual(new SessionNotFound(id));
    expect(store.pointerNow()).toBeUndefined();
  });

  test('a payload search is skipped, even when it has events or is marked irrelevant', async () => {
    const id = seed(store, { is_payload_search: true, is_irrelevant: true }, 2);
    await expect(schedule(id)).resolves.toEqual({ session_id: id, status: 'skipped', reason: 'payload_search' });
    expect(store.assignmentOf(id)).toBeUndefined();
    expect(store.pointerNow()).toBeUndefined();
  });

  test('a session without events that is not irrelevant is skipped as no_events, in one round', async () => {
    const id = seed(store, {}, 0);
    await expect(schedule(id)).resolves.toEqual({ session_id: id, status: 'skipped', reason: 'no_events' });
    expect(store.assignmentOf(id)).toBeUndefined();
    expect(store.calls).toEqual(['findSession', 'readShard']);
  });

  test('an irrelevant session without events is eligible (a negative example)', async () => {
    const id = seed(store, { is_irrelevant: true }, 0);
    await expect(schedule(id)).resolves.toMatchObject({ session_id: id, status: 'scheduled', batch_id: '000001' });
  });

  test('the first schedule opens batch 1 and places its shard; the next ones on that shard take three rounds', async () => {
    const [first, next] = sameShard(2);
    await schedule(first!);
    expect(store.calls).toEqual(['findSession', 'readShard', 'readPointer', 'openBatch', 'placeShard', 'touchShard', 'listMember', 'commitAssignment']);

    store.calls.length = 0;
    await schedule(next!);
    expect(store.calls).toEqual(['findSession', 'readShard', 'touchShard', 'listMember', 'commitAssignment']);
  });

  test('a number is the time since the batch opened, the shard and random bits; numbers rise with scheduling time across shards', async () => {
    const ids = Array.from({ length: 12 }, () => seed(store));
    const numbers: number[] = [];
    for (const id of ids) {
      const outcome = await schedule(id);
      if (outcome.status !== 'scheduled') throw new Error(outcome.status);
      numbers.push(outcome.session_number);
      expect(outcome.session_number % NUMBERS_PER_MS).toBe(shardOf(id, store.shards) * 128);
    }
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    expect(new Set(numbers).size).toBe(numbers.length);
    const pointer = store.pointerNow()!;
    expect(pointer).toMatchObject({ batchSeq: 1, batchId: '000001', openedAt: OPENED, shards: store.shards, numberFloor: 0 });
    expect(numbers[0]).toBe(sessionNumberAt(OPENED + 2, { openedAt: OPENED, numberFloor: 0 }, shardOf(ids[0]!, store.shards), 0));
  });

  test('scheduling again answers already_scheduled with the same place, in one round, even after a release', async () => {
    const id = seed(store);
    const first = await schedule(id);
    await releaseCollectingBatch(store, uniqueId('r'));
    store.calls.length = 0;
    await expect(schedule(id)).resolves.toEqual({ ...first, status: 'already_scheduled' });
    expect(store.calls).toEqual(['findSession', 'readShard']);
  });

  test('losing the race to a concurrent request answers already_scheduled with the winner’s place; its membership is an orphan', async () => {
    const id = seed(store);
    let winner: unknown;
    store.onFirstCall('commitAssignment', async () => {
      winner = await schedule(id);
    });
    const loser = await schedule(id);
    expect(winner).toMatchObject({ status: 'scheduled', batch_id: '000001' });
    expect(loser).toEqual({ ...(winner as object), status: 'already_scheduled' });
    const entries = await store.listBatchEntries('000001', 0, 10, { from: 0, to: store.shards });
    expect(entries.map((e) => e.sessionId)).toEqual([id, id]);
  });

  test('two sessions drawing the same number on one shard: the second draws again', async () => {
    const [a, b] = sameShard(2);
    await schedule(a!);
    const bits = [0, 0.5];
    // Same millisecond, same random bits: b's first number is a's.
    const frozen = clock - 1;
    const outcome = await scheduleSession(store, b!, { now: () => frozen, random: () => bits.shift() ?? 0.5 });
    const first = store.assignmentOf(a!)!.sessionNumber;
    expect(outcome).toMatchObject({ status: 'scheduled' });
    expect(outcome.status === 'scheduled' && outcome.session_number).toBe(first + 64);
    expect(store.calls.filter((c) => c === 'listMember').length).toBe(3);
  });

  test('past the deadline the request is ServiceUnavailable and the session stays unassigned', async () => {
    const id = seed(store);
    await expect(schedule(id, { deadline: OPENED - 1 })).rejects.toBeInstanceOf(ServiceUnavailable);
    expect(store.assignmentOf(id)).toBeUndefined();
    expect(store.calls).not.toContain('commitAssignment');
    // Its membership is an orphan; a retry in time is scheduled.
    await expect(schedule(id)).resolves.toMatchObject({ status: 'scheduled' });
  });
});

describe('scheduleSession and the release fence', () => {
  test('a release between the shard read and the fence check: the schedule lands in the next batch', async () => {
    await schedule(seed(store));
    const id = seed(store);
    store.onFirstCall('touchShard', () => releaseCollectingBatch(store, uniqueId('r')));
    await expect(schedule(id)).resolves.toMatchObject({ status: 'scheduled', batch_id: '000002' });
  });

  test('a release after the fence check: the schedule, in flight, may still land in the released batch', async () => {
    await schedule(seed(store));
    const id = seed(store);
    store.onFirstCall('commitAssignment', () => releaseCollectingBatch(store, uniqueId('r')));
    await expect(schedule(id)).resolves.toMatchObject({ status: 'scheduled', batch_id: '000001' });
  });

  test('after a release, the next schedule opens the next batch with the same shards', async () => {
    await schedule(seed(store));
    await releaseCollectingBatch(store, uniqueId('r'));
    await expect(schedule(seed(store))).resolves.toMatchObject({ status: 'scheduled', batch_id: '000002' });
    expect(store.pointerNow()).toMatchObject({ batchSeq: 2, batchId: '000002', shards: store.shards, numberFloor: 0 });
    expect(store.pointerNow()?.release).toBeUndefined();
  });

  test('rolls forward a release that fenced the pointer and died: every shard fenced, its records written, then the next batch', async () => {
    const [placed, sameShardAsPlaced, otherShard] = sessionsOnShards();
    await schedule(placed);
    const releaseId = uniqueId('r');
    await store.fencePointer(store.pointerNow()!, { releaseId, releasedAt: 1_700_000_100, origin: 'workflow' });
    expect(store.releaseRecord(releaseId)).toBeUndefined();

    // Until someone finishes the release, a shard it did not fence yet still takes sessions for the batch:
    // the release has not returned, and they land before its records are written, so before its announcement.
    await expect(schedule(sameShardAsPlaced)).resolves.toMatchObject({ batch_id: '000001' });
    // A schedule whose shard was never placed meets the fenced pointer and finishes the release first.
    await expect(schedule(otherShard)).resolves.toMatchObject({ batch_id: '000002' });
    expect(store.releaseRecord(releaseId)).toEqual({ release_id: releaseId, batch_id: '000001', released_at: 1_700_000_100 });
    expect(store.shardNow(shardOf(placed, store.shards))).toMatchObject({ batchSeq: 1, releaseId });
  });

  test('a release that finished is not rolled forward again: one read of its record, no shard fenced anew', async () => {
    await schedule(seed(store));
    await releaseCollectingBatch(store, uniqueId('r'));
    store.calls.length = 0;
    await expect(schedule(seed(store))).resolves.toMatchObject({ batch_id: '000002' });
    expect(store.calls).toContain('readRelease');
    expect(store.calls).not.toContain('fenceShards');
    expect(store.calls).not.toContain('writeRelease');
  });

  test('when a concurrent request opens the next batch first, joins it', async () => {
    await schedule(seed(store));
    await releaseCollectingBatch(store, uniqueId('r'));
    const other = seed(store);
    store.onFirstCall('openBatch', () => schedule(other));
    const id = seed(store);
    await expect(schedule(id)).resolves.toMatchObject({ status: 'scheduled', batch_id: '000002' });
    expect(store.assignmentOf(other)).toMatchObject({ batchId: '000002' });
  });

  test('gives up with ServiceUnavailable when every batch it finds is released before it can open the next', async () => {
    await schedule(seed(store));
    await releaseCollectingBatch(store, uniqueId('r'));
    let busy = false;
    store.beforeCall = async (method) => {
      if (method !== 'openBatch' || busy) return;
      busy = true;
      await schedule(seed(store));
      await releaseCollectingBatch(store, uniqueId('r'));
      busy = false;
    };
    const id = seed(store);
    await expect(schedule(id)).rejects.toBeInstanceOf(ServiceUnavailable);
    expect(store.assignmentOf(id)).toBeUndefined();
  });
});

describe('scheduleSession on a table the counter layout wrote (before sharding)', () => {
  test('a session it scheduled is already_scheduled where it sits', async () => {
    const id = seed(store);
    store.putSession(await sessionOf(id), { batchId: '000003', sessionNumber: 41 });
    await expect(schedule(id)).resolves.toEqual({ session_id: id, status: 'already_scheduled', batch_id: '000003', session_number: 41 });
  });

  test('a batch it is still collecting gets shards, and its new numbers start above the counter’s', async () => {
    store.setPointer({ batchSeq: 3, batchId: '000003', lastNumber: 41 });
    const outcome = await schedule(seed(store));
    expect(outcome).toMatchObject({ status: 'scheduled', batch_id: '000003' });
    expect(outcome.status === 'scheduled' && outcome.session_number).toBeGreaterThan(41);
    expect(store.pointerNow()).toMatchObject({ batchSeq: 3, shards: store.shards, numberFloor: 41, lastNumber: 41 });
  });
});

async function sessionOf(id: string) {
  const found = await store.findSession(id);
  store.calls.length = 0;
  const { assignment: _, ...session } = found!.session;
  return session;
}

/** Three sessions: the first two on one shard, the third on another. */
function sessionsOnShards(): [string, string, string] {
  const [a, b] = sameShard(2) as [string, string];
  for (;;) {
    const c = seed(store);
    if (shardOf(c, store.shards) !== shardOf(a, store.shards)) return [a, b, c];
  }
}

/** Seeds sessions until `count` of them share one shard. */
function sameShard(count: number): string[] {
  const byShard = new Map<number, string[]>();
  for (;;) {
    const id = seed(store);
    const shard = shardOf(id, store.shards);
    const ids = [...(byShard.get(shard) ?? []), id];
    if (ids.length === count) return ids;
    byShard.set(shard, ids);
  }
}
