/**
 * Seeds the drain table: one batch of N scheduled sessions with E events each.
 *
 * Events go through SessionWriter.putEvents (BatchWriteItem, 25 a request),
 * as the import command writes them. Scheduling 10,000 sessions through the
 * handler would cost three sequential rounds each, so the seed opens the
 * batch and places its shards with the real store (as the first schedules
 * do) and then writes what each schedule would leave — the
 * session's item, its assignment and its membership in its shard, numbered
 * as numbering.ts numbers them — with BatchWriteItem, built by the data
 * layer's own item mappers. The drain itself goes through the real handler.
 */
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { sessionStore, tableOf } from '../../shared/data/dynamo-store';
import { assignmentItem, membershipItem, sessionItem } from '../../shared/data/items';
import { BATCH_WRITE_SIZE, SessionWriter } from '../../shared/data/session-writer';
import type { Assignment } from '../../shared/domain/model';
import { sessionNumberAt, shardOf } from '../../shared/domain/numbering';
import { benchEvents, benchSession, benchSessionId } from './fixtures';

export interface SeedOptions {
  sessions: number;
  eventsPerSession: number;
  /** Prefix of the session ids, so two seeds in one table never collide. */
  idPrefix: string;
  /** Requests in flight at once. */
  concurrency?: number;
}

export interface SeedResult {
  batchId: string;
  /** The session numbers of the batch, ascending. */
  numbers: number[];
  sessions: number;
  events: number;
  seconds: { events: number; numbers: number; sessions: number; total: number };
}

/** Runs `task` for 0..count-1 with at most `limit` in flight (a few lines; no direct dependency for it). */
export async function forEachLimited(count: number, limit: number, task: (i: number) => Promise<void>) {
  let next = 0;
  const lane = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, lane));
}

export async function seedScheduledBatch(
  db: DynamoDBDocumentClient,
  tableName: string,
  options: SeedOptions,
): Promise<SeedResult> {
  const { sessions: count, eventsPerSession, idPrefix, concurrency = 16 } = options;
  const writer = new SessionWriter(db, tableName);
  const store = sessionStore(tableOf(db, tableName));
  const sessions = Array.from({ length: count }, (_, n) => benchSession(benchSessionId(idPrefix, n + 1), n + 1));
  const started = performance.now();

  // One putEvents call per 5 sessions: 4 BatchWriteItem requests of 25 each.
  const SESSIONS_PER_CALL = 5;
  await forEachLimited(Math.ceil(count / SESSIONS_PER_CALL), concurrency, (i) =>
    writer.putEvents(
      sessions.slice(i * SESSIONS_PER_CALL, (i + 1) * SESSIONS_PER_CALL).flatMap((s) => benchEvents(s, eventsPerSession)),
    ),
  );
  const eventsDone = performance.now();

  // Open the batch as the first schedule would, then write each session's item, assignment and
  // membership directly (what the schedules would have written), 25 items a BatchWriteItem.
  const pointer = await store.openBatch(undefined, Date.now());
  if (!pointer?.openedAt) throw new Error('The bench table already has a batch; seed a fresh table.');
  // And place every shard in it, as the first schedule on each shard does: later schedules take three rounds.
  await Promise.all(Array.from({ length: store.shards }, (_, shard) => store.placeShard(shard, pointer)));
  const assignments: Assignment[] = sessions.map((session, i) => ({
    batchId: pointer.batchId,
    sessionNumber: sessionNumberAt(pointer.openedAt! + i, { openedAt: pointer.openedAt!, numberFloor: 0 }, shardOf(session.session_id, store.shards), 0),
  }));
  const numbersDone = performance.now();

  const scheduledAt = Math.floor(Date.now() / 1000);
  const items = sessions.flatMap((session, i) => {
    const assignment = assignments[i]!;
    return [
      sessionItem(session),
      assignmentItem(session.session_id, assignment, scheduledAt),
      membershipItem({ sessionId: session.session_id, shard: shardOf(session.session_id, store.shards), scheduledAt, assignment }),
    ];
  });
  await forEachLimited(Math.ceil(items.length / BATCH_WRITE_SIZE), concurrency, (i) =>
    batchPut(db, tableName, items.slice(i * BATCH_WRITE_SIZE, (i + 1) * BATCH_WRITE_SIZE)),
  );
  const done = performance.now();

  return {
    batchId: assignments[0]!.batchId,
    numbers: assignments.map((a) => a.sessionNumber).sort((a, b) => a - b),
    sessions: count,
    events: count * eventsPerSession,
    seconds: {
      events: (eventsDone - started) / 1000,
      numbers: (numbersDone - eventsDone) / 1000,
      sessions: (done - numbersDone) / 1000,
      total: (done - started) / 1000,
    },
  };
}

/** One BatchWriteItem of ≤ 25 puts, retrying unprocessed items (dynalite processes all of them). */
async function batchPut(db: DynamoDBDocumentClient, tableName: string, items: Record<string, unknown>[]) {
  let requests = items.map((Item) => ({ PutRequest: { Item } }));
  for (let round = 0; requests.length > 0; round++) {
    if (round === 10) throw new Error(`${requests.length} session items stayed unprocessed`);
    const { UnprocessedItems } = await db.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }));
    requests = (UnprocessedItems?.[tableName] ?? []) as typeof requests;
  }
}

/**
 * Seeds eligible, unscheduled sessions (with events) the way the import
 * command does: events by BatchWriteItem, each session by UpdateItem.
 */
export async function seedUnscheduledSessions(
  db: DynamoDBDocumentClient,
  tableName: string,
  options: SeedOptions,
): Promise<{ sessionIds: string[]; seconds: number }> {
  const { sessions: count, eventsPerSession, idPrefix, concurrency = 16 } = options;
  const writer = new SessionWriter(db, tableName);
  const started = performance.now();
  const sessions = Array.from({ length: count }, (_, n) => benchSession(benchSessionId(idPrefix, n + 1), n + 1));
  const SESSIONS_PER_CALL = 25;
  await forEachLimited(Math.ceil(count / SESSIONS_PER_CALL), concurrency, (i) =>
    writer.putEvents(
      sessions.slice(i * SESSIONS_PER_CALL, (i + 1) * SESSIONS_PER_CALL).flatMap((s) => benchEvents(s, eventsPerSession)),
    ),
  );
  await forEachLimited(count, concurrency, async (i) => void (await writer.upsertSession(sessions[i]!)));
  return { sessionIds: sessions.map((s) => s.session_id), seconds: (performance.now() - started) / 1000 };
}

/** The after_number of every full page of `size` in a batch with these numbers (ascending): 0 first. */
export const pageStarts = (numbers: readonly number[], size: number): number[] =>
  Array.from({ length: Math.floor(numbers.length / size) }, (_, page) => (page === 0 ? 0 : numbers[page * size - 1]!));
