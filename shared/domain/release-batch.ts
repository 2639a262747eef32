import { NoCollectingBatch, ServiceUnavailable } from './errors';
import type { CollectingPointer, Release, ReleaseOrigin } from './model';
import type { FinishingStore, ReleasingStore } from './store';

const MAX_ROUNDS = 8;

export interface ReleaseOptions {
  /** Who will announce it (see ReleaseOrigin); a repeated release id keeps its first origin. Default: the workflow. */
  origin?: ReleaseOrigin;
  now?: () => number;
}

/**
 * Releases the collecting batch under `releaseId`, idempotently.
 *
 * The pointer is fenced with a conditional write that records the release id
 * (so two ids can never release one batch); then every shard is fenced, and
 * the batch and release records are written. A crash anywhere in between
 * leaves a fenced pointer whose release record is missing; whoever meets it
 * next (this id again, another release, or a schedule) finishes it before
 * anything moves on: roll-forward, since dynalite has no transactions.
 */
export async function releaseCollectingBatch(
  store: ReleasingStore,
  releaseId: string,
  options: ReleaseOptions = {},
): Promise<Release> {
  const { origin = 'workflow', now = Date.now } = options;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const { release, pointer } = await store.readReleaseState(releaseId);
    if (release) return release;
    if (pointer?.release?.releaseId === releaseId) return finishRelease(store, pointer);
    if (!pointer || pointer.release) {
      if (pointer) await rollForward(store, pointer);
      throw new NoCollectingBatch();
    }
    const fenced = await store.fencePointer(pointer, { releaseId, releasedAt: Math.floor(now() / 1000), origin });
    if (fenced) return finishRelease(store, fenced);
    // The pointer moved under us (a concurrent release or a new batch): look again.
  }
  throw new ServiceUnavailable('Too many concurrent releases; try again.');
}

/**
 * Finishes the release of a fenced pointer: fences every shard, then writes the
 * batch record and the release record. The same pointer always yields the
 * same records, so running it again (a roll-forward) changes nothing.
 */
export async function finishRelease(store: FinishingStore, pointer: CollectingPointer): Promise<Release> {
  if (!pointer.release) throw new Error(`finishRelease on batch ${pointer.batchId}, which is not released`);
  const release: Release = {
    release_id: pointer.release.releaseId,
    batch_id: pointer.batchId,
    released_at: pointer.release.releasedAt,
    // Only a batch the counter layout numbered knows its highest number.
    ...(pointer.shards === undefined && pointer.lastNumber !== undefined && { last_session_number: pointer.lastNumber }),
  };
  await store.fenceShards(pointer);
  // The batch record first: the release record marks the release finished, and nothing rolls a finished one forward.
  await store.writeBatchRecord(release);
  await store.writeRelease(release, pointer.release.origin);
  return release;
}

/**
 * Finishes a fenced pointer's release if its release record is missing (its
 * releaser crashed): one read, rather than fencing every shard again, in the
 * common case that the release is finished.
 */
export async function rollForward(store: FinishingStore, pointer: CollectingPointer): Promise<void> {
  if (!pointer.release) throw new Error(`rollForward on batch ${pointer.batchId}, which is not released`);
  if (!(await store.readRelease(pointer.release.releaseId))) await finishRelease(store, pointer);
}
