/**
 * Seeds the drain table: one batch of N scheduled sessions with E events each.
 *
 * Events go through SessionWriter.putEvents (BatchWriteItem, 25 a request),
 * as the import command writes them. Scheduling 10,000 sessions through the
 * handler would cost three sequential calls each, so the seed takes the
 * numbers from the real store (DynamoSessionStore.takeNumber, the atomic
 * counter the handler uses) and then writes each session already assigned —
 * the stored item the handler's conditional UpdateItem would leave — with
 * BatchWriteItem, built by the data layer's own item mappers. The drain
 * itself goes through the real handler.
 */
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoSessionStore } from '../../shared/data/dynamo-store';
import { assignmentAttributes, sessionItem } from '../../shared/data/items';
import { BATCH_WRITE_SIZE, SessionWriter } from '../../shared/data/session-writer';
import type { Assignment } from '../../shared/domain/model';
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
  const store = new DynamoSessionStore(db, tableName);
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

  const assignments: Assignment[] = new Array(count);
  await forEachLimited(count, concurrency, async (i) => {
    const grant = await store.takeNumber();
    if (!('granted' in grant)) throw new Error('The bench table has a released batch; seed a fresh table.');
    assignments[i] = grant.granted;
  });
  const numbersDone = performance.now();

  const scheduledAt = Math.floor(Date.now() / 1000);
  await forEachLimited(Math.ceil(count / BATCH_WRITE_SIZE), concurrency, async (i) => {
    const items = sessions.slice(i * BATCH_WRITE_SIZE, (i + 1) * BATCH_WRITE_SIZE).map((session, j) => {
      const { batchId, sessionNumber } = assignments[i * BATCH_WRITE_SIZE + j]!;
      return { ...sessionItem(session), ...assignmentAttributes(batchId, sessionNumber, scheduledAt) };
    });
    await batchPut(db, tableName, items);
  });
  const done = performance.now();

  const batchIds = new Set(assignments.map((a) => a.batchId));
  if (batchIds.size !== 1) throw new Error(`Seeded sessions landed in ${batchIds.size} batches; expected one`);
  return {
    batchId: assignments[0]!.batchId,
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
