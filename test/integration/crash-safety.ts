/**
 * Invariant 5, crash safety: every request that writes is crashed before and
 * after each of its DynamoDB calls in turn, then retried; nothing may be left
 * stuck, duplicated or lost. Shared by invariants.test.ts (on dynalite) and
 * crash-realism.test.ts (through the realism proxy: index lag, throttling).
 */
import type { CallInterceptor } from '../support/call-interceptor';
import { freshBatch, seq, walkBatch } from '../support/batch-walk';
import { releaseDirect, releaseOverHttp, scheduleOverHttp, seedSession, uniqueId } from '../support/handlers';

export interface CrashSafetyOptions {
  /** Runs just before each crashed request, e.g. to empty a throttle bucket that request reads from. */
  beforeCrashedRequest?: () => Promise<void>;
}

export function describeCrashSafety(calls: CallInterceptor, options: CrashSafetyOptions = {}): void {
  const crashAt = async (k: number, when: 'before' | 'after') => {
    await options.beforeCrashedRequest?.();
    return calls.crashAt(k, when);
  };

  afterEach(() => calls.use(undefined));

  describe('invariant 5: crash safety', () => {
    const WHEN = ['before', 'after'] as const;

    /** Crashes the request at its k-th DynamoDB call, for k = 1, 2, … until it makes fewer calls than k. */
    async function forEveryCall(minCalls: number, scenario: (k: number) => Promise<boolean>) {
      let k = 1;
      for (; k <= 24; k++) if (!(await scenario(k))) break;
      expect(k - 1).toBeGreaterThanOrEqual(minCalls); // it crashed at every one of its calls
    }

    test.each(WHEN)('schedule into a collecting batch, crashed %s each call, then retried', async (when) => {
      await forEveryCall(3, async (k) => {
        await freshBatch();
        const anchor = await scheduleOverHttp(await seedSession());
        const batchId = anchor.body.batch_id;
        const id = await seedSession();

        const crash = await crashAt(k, when);
        const crashed = await scheduleOverHttp(id);
        calls.use(undefined);
        if (!crash.fired()) {
          expect(crashed.body).toMatchObject({ status: 'scheduled', batch_id: batchId });
          return false;
        }
        expect(crashed).toMatchObject({ status: 500, body: { error: { code: 'internal_error' } } });

        const retried = await scheduleOverHttp(id);
        expect(retried).toMatchObject({ status: 200, body: { batch_id: batchId } });
        expect(['scheduled', 'already_scheduled']).toContain(retried.body.status);
        const again = await scheduleOverHttp(id);
        expect(again.body).toEqual({ ...retried.body, status: 'already_scheduled' });

        // Everything else still works.
        const other = await scheduleOverHttp(await seedSession());
        expect(other.body).toMatchObject({ status: 'scheduled', batch_id: batchId });
        expect(other.body.session_number).toBeGreaterThan(retried.body.session_number);
        const release = await releaseOverHttp(uniqueId('r'));
        expect(release.body).toMatchObject({ batch_id: batchId });
        const held = await walkBatch(batchId);
        expect(held.filter((s) => s.session_id === id).map((s) => s.session_number)).toEqual([retried.body.session_number]);
        expect(held.map((s) => s.session_id)).toEqual(expect.arrayContaining([anchor.body.session_id, other.body.session_id]));
        return true;
      });
    });

    test.each(WHEN)('schedule that opens the next batch after a release, crashed %s each call, then retried', async (when) => {
      await forEveryCall(6, async (k) => {
        await freshBatch();
        const anchor = await scheduleOverHttp(await seedSession());
        const releaseId = uniqueId('r');
        const release = await releaseOverHttp(releaseId);
        expect(release.body.batch_id).toBe(anchor.body.batch_id);
        // The schedule finds the pointer released: it rewrites the release record (idempotently), then opens a batch.
        const id = await seedSession();

        const crash = await crashAt(k, when);
        const crashed = await scheduleOverHttp(id);
        calls.use(undefined);
        const nextBatch = seq(anchor.body.batch_id) + 1;
        if (!crash.fired()) {
          expect(crashed.body).toMatchObject({ status: 'scheduled' });
          expect(seq(crashed.body.batch_id)).toBe(nextBatch);
          return false;
        }
        expect(crashed.status).toBe(500);

        const retried = await scheduleOverHttp(id);
        expect(retried.status).toBe(200);
        expect(seq(retried.body.batch_id)).toBe(nextBatch);
        const other = await scheduleOverHttp(await seedSession());
        expect(other.body).toMatchObject({ status: 'scheduled', batch_id: retried.body.batch_id });
        expect(await releaseOverHttp(releaseId)).toEqual(release);
        const next = await releaseOverHttp(uniqueId('r'));
        expect(next.body.batch_id).toBe(retried.body.batch_id);
        return true;
      });
    });

    describe.each(WHEN)('release crashed %s each call', (when) => {
      test.each(['the same request is retried at once', 'a schedule arrives before the retry'])('then %s', async (order) => {
        await forEveryCall(4, async (k) => {
          await freshBatch();
          const anchor = await scheduleOverHttp(await seedSession());
          const batchId = anchor.body.batch_id;
          const releaseId = uniqueId('r');

          const crash = await crashAt(k, when);
          const crashed = await releaseOverHttp(releaseId);
          calls.use(undefined);
          if (!crash.fired()) {
            expect(crashed.body).toMatchObject({ release_id: releaseId, batch_id: batchId });
            return false;
          }
          expect(crashed.status).toBe(500);

          // A schedule meanwhile lands in the batch if the crash came before the fence, else it rolls
          // the release forward and opens the next batch.
          const meanwhile = order === 'a schedule arrives before the retry' ? await scheduleOverHttp(await seedSession()) : undefined;
          if (meanwhile) expect(meanwhile.body.status).toBe('scheduled');

          const retried = await releaseOverHttp(releaseId);
          expect(retried).toMatchObject({ status: 200, body: { release_id: releaseId, batch_id: batchId } });
          expect(await releaseOverHttp(releaseId)).toEqual(retried);
          await expect(releaseDirect({ release_id: releaseId })).resolves.toEqual(retried.body);

          // The released batch holds what was scheduled into it, and no more comes; nothing is stuck afterwards.
          const held = await walkBatch(batchId);
          expect(held.map((s) => s.session_id)).toContain(anchor.body.session_id);
          if (meanwhile && meanwhile.body.batch_id === batchId) expect(held.map((s) => s.session_id)).toContain(meanwhile.body.session_id);
          const later = await scheduleOverHttp(await seedSession());
          expect(seq(later.body.batch_id)).toBeGreaterThan(seq(batchId));
          const laterRelease = await releaseOverHttp(uniqueId('r'));
          expect(laterRelease.body.batch_id).toBe(later.body.batch_id);
          return true;
        });
      });
    });
  });
}
