/**
 * How a session gets its shard and its number. Shards spread the schedule
 * writes of one batch over SHARDS keys (DynamoDB limits each key to 1,000
 * write units a second); numbers come from the clock, so a schedule needs no
 * counter and numbers rise with scheduling time across every shard.
 *
 *   number = numberFloor + (ms since the batch opened + 1) × 8192 + shard × 128 + random(0…127)
 *
 * The shard bits keep numbers of different shards apart; within a shard the
 * membership write is conditional on its number being free, and a clash
 * (two schedules in the same millisecond drawing the same 7 bits) draws again.
 * Numbers stay under 2^53 for 34 years of one batch collecting.
 */
export const MAX_SHARDS = 64;
/** Shards of a batch when nothing else is configured: 16 keys of 1,000 write units a second each. */
export const DEFAULT_SHARDS = 16;
const SHARD_SLOTS = 64;
const RANDOM_SLOTS = 128;
export const NUMBERS_PER_MS = SHARD_SLOTS * RANDOM_SLOTS;

/** The shard count itself, if it is a whole number from 1 to MAX_SHARDS; throws otherwise. */
export function checkShardCount(shards: number): number {
  if (!Number.isInteger(shards) || shards < 1 || shards > MAX_SHARDS) {
    throw new Error(`The shard count must be a whole number from 1 to ${MAX_SHARDS}, not ${shards}.`);
  }
  return shards;
}

/** The shard a session belongs to: FNV-1a of its id, so every request for a session goes to the same shard. */
export function shardOf(sessionId: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < sessionId.length; i++) {
    hash ^= sessionId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
}

/** A session number for this shard at this time; `random` in [0, 1). A clock behind the batch's opening counts as its first millisecond. */
export function sessionNumberAt(
  nowMs: number,
  batch: { openedAt: number; numberFloor: number },
  shard: number,
  random: number,
): number {
  const elapsed = Math.max(0, Math.floor(nowMs - batch.openedAt));
  return batch.numberFloor + (elapsed + 1) * NUMBERS_PER_MS + shard * RANDOM_SLOTS + Math.floor(random * RANDOM_SLOTS);
}
