/**
 * The batch walk's merge (shared/domain/walk-batch.ts) on a fake store whose
 * shards hold exactly the listings a test gives them: the walk must give
 * their sorted union, read each listing once, and list a shard again only
 * once its buffer has run empty.
 */
import fc from 'fast-check';
import { BatchNotFound } from '../../shared/domain/errors';
import type { CollectingPointer, StoredSession } from '../../shared/domain/model';
import type { BatchEntry, PagingStore } from '../../shared/domain/store';
import { LISTING_PAGE, walkBatch } from '../../shared/domain/walk-batch';
import { makeSession } from '../support/fixtures';

const BATCH = '000001';
const P = LISTING_PAGE;

interface Listing {
  shard: number;
  after: number;
  returned: number;
}

/**
 * Shard s lists the numbers `shards[s]`; shard 0 also lists `legacy` (the
 * batch index of the counter layout), as the DynamoDB store does. Every
 * listed session holds its listing unless it is in `orphans`.
 */
class FakeShards implements PagingStore {
  readonly listings: Listing[] = [];
  private readonly pointer: CollectingPointer;

  constructor(
    private readonly numbers: number[][],
    private readonly legacy: number[] = [],
    private readonly orphans = new Set<number>(),
    readonly shards = numbers.length,
    release = true,
  ) {
    this.pointer = {
      batchSeq: 1,
      batchId: BATCH,
      shards: numbers.length,
      ...(release && { release: { releaseId: 'r', releasedAt: 1, origin: 'api' as const } }),
    };
  }

  async readPointer() {
    return { ...this.pointer };
  }

  async listBatchEntries(batchId: string, afterNumber: number, limit: number, shards: { from: number; to: number }): Promise<BatchEntry[]> {
    // The walk lists one shard at a time: each has its own cursor.
    expect(shards.to).toBe(shards.from + 1);
    const listed = [...(this.numbers[shards.from] ?? []), ...(shards.from === 0 ? this.legacy : [])];
    const entries = listed
      .filter((n) => n > afterNumber)
      .sort((a, b) => a - b)
      .slice(0, limit)
      .map((n) => ({ sessionId: `s-${n}`, assignment: { batchId, sessionNumber: n } }));
    this.listings.push({ shard: shards.from, after: afterNumber, returned: entries.length });
    return entries;
  }

  async readSession(sessionId: string) {
    const number = Number(sessionId.slice(2));
    const held = this.orphans.has(number) ? number + 0.5 : number;
    const session: StoredSession = { ...makeSession({ session_id: sessionId }), assignment: { batchId: BATCH, sessionNumber: held } };
    return { session, events: [] };
  }

  /** How many times each shard was listed. */
  listingsPerShard(): number[] {
    return this.numbers.map((_, shard) => this.listings.filter((l) => l.shard === shard).length);
  }
}

/** Every session number the walk serves, `count` listings at a time. */
async function walked(store: PagingStore, count: number, afterNumber = 0): Promise<number[]> {
  const walk = await walkBatch(store, { batchId: BATCH, afterNumber, eventsLimit: 10 });
  const served: number[] = [];
  for (;;) {
    const sessions = await walk.next(count);
    if (sessions.length === 0) return served;
    expect(sessions.length).toBeLessThanOrEqual(count);
    served.push(...sessions.map((s) => s.session_number));
  }
}

/** `sizes` shards, their numbers 1…total dealt out at random so that the shards interleave. */
function dealt(sizes: number[], seed = 7): number[][] {
  const total = sizes.reduce((a, b) => a + b, 0);
  const numbers = Array.from({ length: total }, (_, i) => (i + 1) * 3); // sparse
  let state = seed;
  for (let i = numbers.length - 1; i > 0; i--) {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = state % (i + 1);
    [numbers[i], numbers[j]] = [numbers[j]!, numbers[i]!];
  }
  let at = 0;
  return sizes.map((size) => numbers.slice(at, (at += size)));
}

const union = (shards: number[][], legacy: number[] = []) => [...shards.flat(), ...legacy].sort((a, b) => a - b);

describe('walkBatch: the k-way merge of the shards', () => {
  // Very different sizes: one empty, one of a single session, and either side of a listing page's boundaries.
  const sizes = [0, 1, P - 1, P, P + 1, 2 * P + 7, 3, 0];

  test.each([[1], [20], [200], [5 * P]])('%i listings at a time: the sorted union, each listing read once', async (count) => {
    const shards = dealt(sizes);
    const store = new FakeShards(shards);
    expect(await walked(store, count)).toEqual(union(shards));
    // One membership read a session: nothing is listed twice.
    expect(store.listings.reduce((n, l) => n + l.returned, 0)).toBe(union(shards).length);
    // A shard is listed again only when its page ran out, and stops at its first short page.
    expect(store.listingsPerShard()).toEqual(sizes.map((size) => Math.floor(size / P) + 1));
    // Each listing starts after the last number the shard's previous one returned.
    for (const [shard, numbers] of shards.entries()) {
      const sorted = [...numbers].sort((a, b) => a - b);
      const afters = store.listings.filter((l) => l.shard === shard).map((l) => l.after);
      expect(afters).toEqual([0, ...Array.from({ length: afters.length - 1 }, (_, k) => sorted[(k + 1) * P - 1])]);
    }
  });

  test('the empty shards are refilled in one round, not one after another', async () => {
    const shards = dealt([2 * P, 2 * P, 2 * P]);
    const store = new FakeShards(shards);
    let inFlight = 0;
    let most = 0;
    const list = store.listBatchEntries.bind(store);
    store.listBatchEntries = async (...args) => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
      return list(...args);
    };
    expect(await walked(store, 50)).toEqual(union(shards));
    expect(most).toBe(3);
  });

  test('resumes after a number: the rest of the union, listed from there', async () => {
    const shards = dealt(sizes);
    const all = union(shards);
    for (const after of [all[0]!, all[P + 3]!, all.at(-2)!, all.at(-1)!]) {
      const store = new FakeShards(shards);
      expect(await walked(store, 37, after)).toEqual(all.filter((n) => n > after));
      expect(store.listings.every((l) => l.after >= after)).toBe(true);
      expect(store.listings.reduce((n, l) => n + l.returned, 0)).toBe(all.filter((n) => n > after).length);
    }
  });

  test("shard 0's listing carries the counter layout's sessions too; orphans are left out, and a run of them read past", async () => {
    const shards = dealt([P + 5, 40, 0, 9]);
    const legacy = [1, 2, 4, 5, 7];
    const all = union(shards, legacy);
    // Orphans, among them more than a whole slice in a row.
    const orphans = new Set([...all.slice(10, 60), all[0]!, all.at(-1)!]);
    const store = new FakeShards(shards, legacy, orphans);
    expect(await walked(store, 20)).toEqual(all.filter((n) => !orphans.has(n)));
    expect(store.listings.reduce((n, l) => n + l.returned, 0)).toBe(all.length);
  });

  test('a batch opened with more shards than the setting: its pointer says so, and every shard is walked', async () => {
    const shards = dealt([3, 4, P + 2, 5]);
    const store = new FakeShards(shards, [], new Set(), 2);
    expect(await walked(store, 20)).toEqual(union(shards));
  });

  test('any shard sizes, any slice size, any cursor: the sorted union past it, each listing read once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 2 * P + 1 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 2 * P }),
        fc.nat(),
        fc.nat(),
        async (sizes, count, afterIndex, seed) => {
          const shards = dealt(sizes, seed);
          const all = union(shards);
          const after = all.length === 0 || afterIndex % 3 === 0 ? 0 : all[afterIndex % all.length]!;
          const store = new FakeShards(shards);
          const rest = all.filter((n) => n > after);
          expect(await walked(store, count, after)).toEqual(rest);
          expect(store.listings.reduce((n, l) => n + l.returned, 0)).toBe(rest.length);
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('walkBatch: which batches it walks', () => {
  test('an unknown batch is BatchNotFound; a collecting batch says so', async () => {
    await expect(walkBatch(new FakeShards([[1]]), { batchId: '000002', afterNumber: 0, eventsLimit: 1 })).rejects.toEqual(new BatchNotFound('000002'));
    const collecting = new FakeShards([[1]], [], new Set(), 1, false);
    expect((await walkBatch(collecting, { batchId: BATCH, afterNumber: 0, eventsLimit: 1 })).state).toBe('collecting');
    expect((await walkBatch(new FakeShards([[1]]), { batchId: BATCH, afterNumber: 0, eventsLimit: 1 })).state).toBe('released');
  });
});
