import { NoCollectingBatch, ServiceUnavailable } from '../../shared/domain/errors';
import { describeBatch, listBatches } from '../../shared/domain/batches';
import { finishRelease, releaseCollectingBatch } from '../../shared/domain/release-batch';
import { scheduleSession } from '../../shared/domain/schedule-session';
import { MemorySessionStore } from '../support/memory-store';
import { uniqueId } from '../support/fixtures';
import { seed } from './fixtures';

let store: MemorySessionStore;
beforeEach(() => {
  store = new MemorySessionStore();
});

const clock = (unixSeconds: number) => () => unixSeconds * 1000 + 999;

async function scheduleSome(count: number) {
  for (let i = 0; i < count; i++) await scheduleSession(store, seed(store));
}

describe('releaseCollectingBatch', () => {
  test('releases the collecting batch: fences the pointer, then every shard, writes the records, answers it', async () => {
    await scheduleSome(3);
    const releaseId = uniqueId('r');
    store.calls.length = 0;
    const release = await releaseCollectingBatch(store, releaseId, { now: clock(1_700_000_500) });
    const expected = { release_id: releaseId, batch_id: '000001', released_at: 1_700_000_500 };
    expect(release).toEqual(expected);
    expect(store.releaseRecord(releaseId)).toEqual(expected);
    expect(store.pointerNow()).toMatchObject({
      batchSeq: 1,
      batchId: '000001',
      shards: store.shards,
      release: { releaseId, releasedAt: 1_700_000_500, origin: 'workflow' },
    });
    expect(store.calls).toEqual(['readReleaseState', 'fencePointer', 'fenceShards', 'writeBatchRecord', 'writeRelease']);
    for (let shard = 0; shard < store.shards; shard++) expect(store.shardNow(shard)).toMatchObject({ batchSeq: 1, releaseId });
  });

  test('a batch the counter layout numbered (before sharding) still answers its highest number', async () => {
    store.setPointer({ batchSeq: 4, batchId: '000004', lastNumber: 17 });
    const releaseId = uniqueId('r');
    await expect(releaseCollectingBatch(store, releaseId, { now: clock(1_700_000_500) })).resolves.toEqual({
      release_id: releaseId,
      batch_id: '000004',
      released_at: 1_700_000_500,
      last_session_number: 17,
    });
  });

  test('the same id answers its original release forever, even after later batches, without writing', async () => {
    await scheduleSome(1);
    const releaseId = uniqueId('r');
    const first = await releaseCollectingBatch(store, releaseId, { now: clock(1_700_000_500) });
    await scheduleSome(2);
    await releaseCollectingBatch(store, uniqueId('r'), { now: clock(1_700_000_600) });
    await scheduleSome(1);

    store.calls.length = 0;
    await expect(releaseCollectingBatch(store, releaseId, { now: clock(1_700_000_900) })).resolves.toEqual(first);
    expect(store.calls).toEqual(['readReleaseState']);
    expect(store.pointerNow()).toMatchObject({ batchSeq: 3, batchId: '000003' });
    expect(store.pointerNow()?.release).toBeUndefined();
  });

  test('with no batch at all, or none since the last release, is NoCollectingBatch', async () => {
    await expect(releaseCollectingBatch(store, uniqueId('r'))).rejects.toBeInstanceOf(NoCollectingBatch);
    await scheduleSome(1);
    await releaseCollectingBatch(store, uniqueId('r'));
    const late = uniqueId('r');
    await expect(releaseCollectingBatch(store, late)).rejects.toBeInstanceOf(NoCollectingBatch);
    expect(store.releaseRecord(late)).toBeUndefined();
  });

  test('the same id finishes its own release when it died after fencing the pointer', async () => {
    await scheduleSome(2);
    const releaseId = uniqueId('r');
    store.beforeCall = (method) => {
      if (method === 'writeRelease') throw new Error('crash before the record');
    };
    await expect(releaseCollectingBatch(store, releaseId, { now: clock(1_700_000_500) })).rejects.toThrow('crash');
    store.beforeCall = undefined;
    expect(store.releaseRecord(releaseId)).toBeUndefined();

    const retried = await releaseCollectingBatch(store, releaseId, { now: clock(1_700_000_999) });
    expect(retried).toEqual({ release_id: releaseId, batch_id: '000001', released_at: 1_700_000_500 });
    expect(store.releaseRecord(releaseId)).toEqual(retried);
  });

  test('another id meeting a fenced pointer writes the fencer’s record, then is NoCollectingBatch', async () => {
    await scheduleSome(1);
    const fencer = uniqueId('r');
    await store.fencePointer(store.pointerNow()!, { releaseId: fencer, releasedAt: 1_700_000_500, origin: 'workflow' });
    const other = uniqueId('r');
    await expect(releaseCollectingBatch(store, other)).rejects.toBeInstanceOf(NoCollectingBatch);
    expect(store.releaseRecord(fencer)).toEqual({ release_id: fencer, batch_id: '000001', released_at: 1_700_000_500 });
    expect(store.releaseRecord(other)).toBeUndefined();
  });

  test('losing the fence to a concurrent release is NoCollectingBatch, and the batch is the winner’s alone', async () => {
    await scheduleSome(1);
    const winner = uniqueId('r');
    store.onFirstCall('fencePointer', () => releaseCollectingBatch(store, winner));
    const loser = uniqueId('r');
    await expect(releaseCollectingBatch(store, loser)).rejects.toBeInstanceOf(NoCollectingBatch);
    expect(store.releaseRecord(winner)).toMatchObject({ batch_id: '000001' });
    expect(store.releaseRecord(loser)).toBeUndefined();
  });

  test('when the pointer moves on to a new batch under it, releases that batch instead', async () => {
    await scheduleSome(1);
    // Between our read and our fence: batch 1 is released by another id and batch 2 opened.
    store.onFirstCall('fencePointer', async () => {
      await releaseCollectingBatch(store, uniqueId('r'));
      await scheduleSome(2);
    });
    const releaseId = uniqueId('r');
    await expect(releaseCollectingBatch(store, releaseId)).resolves.toMatchObject({
      release_id: releaseId,
      batch_id: '000002',
    });
  });

  test('gives up with ServiceUnavailable when the pointer keeps moving', async () => {
    await scheduleSome(1);
    let busy = false;
    store.beforeCall = async (method) => {
      if (method !== 'fencePointer' || busy) return;
      busy = true;
      await releaseCollectingBatch(store, uniqueId('r'));
      await scheduleSome(1);
      busy = false;
    };
    await expect(releaseCollectingBatch(store, uniqueId('r'))).rejects.toBeInstanceOf(ServiceUnavailable);
  });
});

describe('origin: who announces the release', () => {
  test('a release over the API is recorded with origin api, a workflow release with origin workflow', async () => {
    await scheduleSome(1);
    const overApi = uniqueId('r');
    await releaseCollectingBatch(store, overApi, { origin: 'api' });
    await scheduleSome(1);
    const byWorkflow = uniqueId('r');
    await releaseCollectingBatch(store, byWorkflow);

    expect([store.releaseOrigin(overApi), store.releaseOrigin(byWorkflow)]).toEqual(['api', 'workflow']);
  });

  test('a release that crashed before its record keeps its origin when someone else rolls it forward', async () => {
    await scheduleSome(1);
    const releaseId = uniqueId('r');
    store.beforeCall = (method) => {
      if (method === 'writeRelease') throw new Error('crash before the record');
    };
    await expect(releaseCollectingBatch(store, releaseId, { origin: 'api' })).rejects.toThrow('crash');
    store.beforeCall = undefined;

    // The next release (the scheduled workflow) finds the fenced pointer and writes its record first.
    await expect(releaseCollectingBatch(store, uniqueId('r'))).rejects.toBeInstanceOf(NoCollectingBatch);

    expect(store.releaseRecord(releaseId)).toBeDefined();
    expect(store.releaseOrigin(releaseId)).toBe('api');
  });

  test('a repeated release id keeps the origin of its first release', async () => {
    await scheduleSome(1);
    const releaseId = uniqueId('r');
    await releaseCollectingBatch(store, releaseId, { origin: 'workflow' });
    await releaseCollectingBatch(store, releaseId, { origin: 'api' });
    expect(store.releaseOrigin(releaseId)).toBe('workflow');
  });
});

describe('finishRelease', () => {
  test('refuses a pointer that is not released (a caller bug, not a race)', async () => {
    await expect(finishRelease(store, { batchSeq: 1, batchId: '000001', lastNumber: 1 })).rejects.toThrow('not released');
  });

  test('writes the same record however often it runs', async () => {
    const pointer = {
      batchSeq: 4,
      batchId: '000004',
      lastNumber: 9,
      release: { releaseId: 'r-1', releasedAt: 5, origin: 'api' as const },
    };
    const first = await finishRelease(store, pointer);
    await expect(finishRelease(store, pointer)).resolves.toEqual(first);
    expect(store.releaseRecord('r-1')).toEqual({ release_id: 'r-1', batch_id: '000004', released_at: 5, last_session_number: 9 });
    expect(store.releaseOrigin('r-1')).toBe('api');
  });
});

describe('batch records and the batch list', () => {
  test('finishing a release writes its batch record before its release record', async () => {
    await scheduleSome(1);
    const releaseId = uniqueId('r');
    const order: string[] = [];
    store.beforeCall = (method) => void (method.startsWith('write') && order.push(method));
    await releaseCollectingBatch(store, releaseId, { now: clock(1_700_000_500) });
    expect(order).toEqual(['writeBatchRecord', 'writeRelease']);
  });

  test('listBatches: every batch, oldest first, with its state and release; describeBatch: one of them', async () => {
    expect(await listBatches(store)).toEqual([]);
    await scheduleSome(2);
    const first = uniqueId('r');
    await releaseCollectingBatch(store, first, { now: clock(1_700_000_500) });
    await scheduleSome(1);

    expect(await listBatches(store)).toEqual([
      { batch_id: '000001', state: 'released', release_id: first, released_at: 1_700_000_500 },
      { batch_id: '000002', state: 'collecting' },
    ]);
    await expect(describeBatch(store, '000001')).resolves.toEqual({
      batch_id: '000001',
      state: 'released',
      release_id: first,
      released_at: 1_700_000_500,
    });
    await expect(describeBatch(store, '000003')).resolves.toBeUndefined();
    await expect(describeBatch(store, 'nope')).resolves.toBeUndefined();
  });

  test('a batch fenced by a release that crashed before its records still lists its release', async () => {
    await scheduleSome(1);
    const releaseId = uniqueId('r');
    store.beforeCall = (method) => {
      if (method === 'writeBatchRecord') throw new Error('crash before the records');
    };
    await expect(releaseCollectingBatch(store, releaseId, { now: clock(1_700_000_700) })).rejects.toThrow('crash');
    store.beforeCall = undefined;
    expect(await listBatches(store)).toEqual([
      { batch_id: '000001', state: 'released', release_id: releaseId, released_at: 1_700_000_700 },
    ]);
  });
});
