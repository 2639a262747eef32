import { ServiceUnavailable, SessionNotFound } from '../../shared/domain/errors';
import { releaseCollectingBatch } from '../../shared/domain/release-batch';
import { scheduleSession } from '../../shared/domain/schedule-session';
import { MemorySessionStore } from '../support/memory-store';
import { uniqueId } from '../support/fixtures';
import { seed } from './fixtures';

let store: MemorySessionStore;
beforeEach(() => {
  store = new MemorySessionStore();
});

describe('scheduleSession outcomes', () => {
  test('an unknown session is SessionNotFound and takes no number', async () => {
    const id = uniqueId();
    await expect(scheduleSession(store, id)).rejects.toEqual(new SessionNotFound(id));
    expect(store.pointerNow()).toBeUndefined();
  });

  test('a payload search is skipped, even when it has events or is marked irrelevant', async () => {
    const id = seed(store, { is_payload_search: true, is_irrelevant: true }, 2);
    await expect(scheduleSession(store, id)).resolves.toEqual({ session_id: id, status: 'skipped', reason: 'payload_search' });
    expect(store.assignmentOf(id)).toBeUndefined();
    expect(store.pointerNow()).toBeUndefined();
  });

  test('a session without events that is not irrelevant is skipped as no_events', async () => {
    const id = seed(store, {}, 0);
    await expect(scheduleSession(store, id)).resolves.toEqual({ session_id: id, status: 'skipped', reason: 'no_events' });
    expect(store.assignmentOf(id)).toBeUndefined();
    expect(store.calls).toEqual(['findSession']);
  });

  test('an irrelevant session without events is eligible (a negative example)', async () => {
    const id = seed(store, { is_irrelevant: true }, 0);
    await expect(scheduleSession(store, id)).resolves.toEqual({
      session_id: id,
      status: 'scheduled',
      batch_id: '000001',
      session_number: 1,
    });
  });

  test('eligible sessions are numbered 1, 2, 3… in the first batch, in three store calls each', async () => {
    const ids = [seed(store), seed(store), seed(store)];
    const outcomes = [];
    for (const id of ids) outcomes.push(await scheduleSession(store, id));
    expect(outcomes.map((o) => ('session_number' in o ? o.session_number : undefined))).toEqual([1, 2, 3]);
    expect(outcomes.every((o) => o.status === 'scheduled' && o.batch_id === '000001')).toBe(true);
    expect(store.calls).toEqual(Array(3).fill(['findSession', 'takeNumber', 'assignSession']).flat());
    expect(store.assignmentOf(ids[2]!)).toEqual({ batchId: '000001', sessionNumber: 3 });
  });

  test('scheduling again answers already_scheduled with the same place, in one store call, even after a release', async () => {
    const id = seed(store);
    await scheduleSession(store, id);
    await releaseCollectingBatch(store, uniqueId('r'));
    store.calls.length = 0;
    await expect(scheduleSession(store, id)).resolves.toEqual({
      session_id: id,
      status: 'already_scheduled',
      batch_id: '000001',
      session_number: 1,
    });
    expect(store.calls).toEqual(['findSession']);
  });

  test('losing the race to a concurrent request answers already_scheduled with the winner’s place', async () => {
    const id = seed(store);
    let winner: unknown;
    // Our request holds number 1; the concurrent one takes 2 and assigns first.
    store.onFirstCall('assignSession', async () => {
      winner = await scheduleSession(store, id);
    });
    const loser = await scheduleSession(store, id);
    expect(winner).toEqual({ session_id: id, status: 'scheduled', batch_id: '000001', session_number: 2 });
    expect(loser).toEqual({ session_id: id, status: 'already_scheduled', batch_id: '000001', session_number: 2 });
    expect(store.assignmentOf(id)).toEqual({ batchId: '000001', sessionNumber: 2 });
  });

  test('past the deadline the request is ServiceUnavailable and the session stays unassigned', async () => {
    const id = seed(store);
    const outcome = scheduleSession(store, id, { deadline: 1_000, now: () => 1_001 });
    await expect(outcome).rejects.toBeInstanceOf(ServiceUnavailable);
    expect(store.assignmentOf(id)).toBeUndefined();
    expect(store.calls).not.toContain('assignSession');
    // The number it took is a gap; a retry in time gets the next one.
    await expect(scheduleSession(store, id, { deadline: 1_000, now: () => 1_000 })).resolves.toMatchObject({
      status: 'scheduled',
      session_number: 2,
    });
  });
});

describe('scheduleSession after a release', () => {
  test('opens the next batch at number 1', async () => {
    await scheduleSession(store, seed(store));
    await releaseCollectingBatch(store, uniqueId('r'));
    const id = seed(store);
    await expect(scheduleSession(store, id)).resolves.toMatchObject({ status: 'scheduled', batch_id: '000002', session_number: 1 });
    expect(store.pointerNow()).toEqual({ batchSeq: 2, batchId: '000002', lastNumber: 1 });
  });

  test('rolls forward a release whose record was never written before opening the next batch', async () => {
    await scheduleSession(store, seed(store));
    await scheduleSession(store, seed(store));
    const releaseId = uniqueId('r');
    // The releaser fenced the pointer and died before writing its record.
    await store.markReleased(store.pointerNow()!, { releaseId: releaseId, releasedAt: 1_700_000_100, origin: 'workflow' });
    expect(store.releaseRecord(releaseId)).toBeUndefined();

    await expect(scheduleSession(store, seed(store))).resolves.toMatchObject({ batch_id: '000002', session_number: 1 });
    expect(store.releaseRecord(releaseId)).toEqual({
      release_id: releaseId,
      batch_id: '000001',
      released_at: 1_700_000_100,
      last_session_number: 2,
    });
  });

  test('when a concurrent request opens the next batch first, joins it with the next number', async () => {
    await scheduleSession(store, seed(store));
    await releaseCollectingBatch(store, uniqueId('r'));
    const other = seed(store);
    store.onFirstCall('openNextBatch', () => scheduleSession(store, other));
    const id = seed(store);
    await expect(scheduleSession(store, id)).resolves.toMatchObject({ status: 'scheduled', batch_id: '000002', session_number: 2 });
    expect(store.assignmentOf(other)).toEqual({ batchId: '000002', sessionNumber: 1 });
  });

  test('gives up with ServiceUnavailable when every batch it finds is released before it can open the next', async () => {
    await scheduleSession(store, seed(store));
    await releaseCollectingBatch(store, uniqueId('r'));
    // Before each of our attempts to open a batch, someone opens it and releases it again.
    let busy = false;
    store.beforeCall = async (method) => {
      if (method !== 'openNextBatch' || busy) return;
      busy = true;
      await scheduleSession(store, seed(store));
      await releaseCollectingBatch(store, uniqueId('r'));
      busy = false;
    };
    const id = seed(store);
    await expect(scheduleSession(store, id)).rejects.toBeInstanceOf(ServiceUnavailable);
    expect(store.assignmentOf(id)).toBeUndefined();
  });
});
