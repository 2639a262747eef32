import { ServiceUnavailable, SessionNotFound } from './errors';
import { batchIdOf, type Assignment, type CollectingPointer, type ShardState } from './model';
import { sessionNumberAt, shardOf } from './numbering';
import { rollForward } from './release-batch';
import type { SchedulingStore } from './store';

export type ScheduleOutcome =
  | { session_id: string; status: 'skipped'; reason: 'payload_search' | 'no_events' }
  | { session_id: string; status: 'scheduled' | 'already_scheduled'; batch_id: string; session_number: number };

export interface ScheduleOptions {
  /** Epoch ms after which the session must not be committed any more (the release fence's settle window). */
  deadline?: number;
  now?: () => number;
  /** In [0, 1): the random bits of a session number. */
  random?: () => number;
}

/** How often to go round when other requests keep opening or releasing batches under us, or numbers clash. */
const MAX_ROUNDS = 8;

/**
 * Puts an eligible session into the collecting batch, exactly once.
 *
 * Round trips on the first scheduling: (1) the session with its assignment
 * and first event, and its shard, together; (2) the shard's fence check and
 * the session's membership under its number, together; (3) the assignment,
 * conditional on the session having none: the commit point. A membership
 * whose session ends with another assignment (a lost race, a crash, a
 * deadline) is an orphan that pages leave out.
 */
export async function scheduleSession(
  store: SchedulingStore,
  sessionId: string,
  options: ScheduleOptions = {},
): Promise<ScheduleOutcome> {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const shard = shardOf(sessionId, store.shards);
  const [found, seen] = await Promise.all([store.findSession(sessionId), store.readShard(shard)]);
  if (!found) throw new SessionNotFound(sessionId);
  const { session, hasEvents } = found;

  if (session.assignment) return alreadyScheduled(sessionId, session.assignment);
  if (session.is_payload_search) return { session_id: sessionId, status: 'skipped', reason: 'payload_search' };
  // Irrelevant sessions are negative examples: eligible without events.
  if (!hasEvents && !session.is_irrelevant) return { session_id: sessionId, status: 'skipped', reason: 'no_events' };

  let state = seen && !seen.fenced ? seen : undefined;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    state ??= await placeShardInCollectingBatch(store, shard, now);
    const batchId = batchIdOf(state.batchSeq);
    const scheduledAt = Math.floor(now() / 1000);
    const sessionNumber = sessionNumberAt(now(), state, shard, random());
    const [touched, listed] = await Promise.all([
      store.touchShard(shard, state.batchSeq),
      store.listMember({ sessionId, shard, scheduledAt, assignment: { batchId, sessionNumber } }),
    ]);
    // Fenced by a release, or moved on to a later batch: look again. Our membership, if any, is an orphan.
    if (!touched) {
      state = undefined;
      continue;
    }
    // Another session holds the number (a clash of the random bits): draw again.
    if (!listed) continue;

    // The release workflow waits this request's timeout before announcing a batch;
    // past the deadline a late commit could land in a batch already announced.
    if (options.deadline !== undefined && now() > options.deadline) {
      throw new ServiceUnavailable('The request ran out of time before the session could be scheduled.');
    }
    const assignment = await store.commitAssignment(sessionId, { batchId, sessionNumber }, scheduledAt, options.deadline);
    if (assignment.batchId === batchId && assignment.sessionNumber === sessionNumber) {
      return { session_id: sessionId, status: 'scheduled', batch_id: batchId, session_number: sessionNumber };
    }
    return alreadyScheduled(sessionId, assignment);
  }
  throw new ServiceUnavailable('Too many concurrent releases; try again.');
}

/**
 * The roll-forward path, taken when the shard is not taking sessions (never
 * placed, fenced, or moved on): reads the collecting pointer, opens batch 1,
 * finishes a fenced batch's release and opens the next, or gives a batch more
 * shards, then places the shard in the collecting batch.
 */
async function placeShardInCollectingBatch(store: SchedulingStore, shard: number, now: () => number): Promise<ShardState> {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    let pointer: CollectingPointer | undefined = await store.readPointer();
    if (!pointer) pointer = await store.openBatch(undefined, now());
    else if (pointer.release) {
      // Its release record may not be written yet if the releaser crashed: roll it forward first.
      await rollForward(store, pointer);
      pointer = await store.openBatch(pointer, now());
    } else if ((pointer.shards ?? 0) < store.shards || pointer.openedAt === undefined) {
      pointer = await store.widenBatch(pointer, now());
    }
    if (!pointer?.openedAt) continue; // the pointer changed under us: look again
    await store.placeShard(shard, pointer);
    return { shard, batchSeq: pointer.batchSeq, openedAt: pointer.openedAt, numberFloor: pointer.numberFloor ?? 0, fenced: false };
  }
  throw new ServiceUnavailable('Too many concurrent releases; try again.');
}

const alreadyScheduled = (sessionId: string, assignment: Assignment): ScheduleOutcome => ({
  session_id: sessionId,
  status: 'already_scheduled',
  batch_id: assignment.batchId,
  session_number: assignment.sessionNumber,
});
