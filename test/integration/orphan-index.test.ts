/**
 * Stale index entries. dynalite's updateItem writes a session's index entry
 * and the item itself as two LevelDB writes, so `npm start` killed between
 * them keeps an entry for an assignment the item never got; the retried
 * schedule then gives the session another number, and the index lists it
 * twice. A page must never serve a session under an entry its stored item
 * does not hold, and still walk the batch to its end.
 *
 * Each entry is planted where a real crash would leave it: at a number the
 * crash burnt (the schedule died right after taking it), projected from the
 * session's own item, added to the index Query's answers by an SDK middleware
 * on the handlers' client, in key order and within the Query's Limit.
 */
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../../shared/data/store-from-env';
import { interceptCalls } from '../support/call-interceptor';
import { countRounds } from '../support/round-counter';
import { scanTable } from '../support/scan-table';
import { createTestTable, pageOverHttp, releaseOverHttp, scheduleOverHttp, seedSession, uniqueId } from '../support/handlers';

type Item = Record<string, any>;

const interceptor = interceptCalls(documentClient, 'orphanIndexEntries');
const counter = countRounds(documentClient);
afterAll(() => counter.detach());

/** Index entries the store "kept" from crashed schedules, by batch id. */
const planted = new Map<string, Item[]>();

/** Lets every call through, adding the planted entries to each Query of the batch index, as DynamoDB would order and cut them. */
function answerWithPlantedEntries() {
  interceptor.use(async (call, send) => {
    const answer = (await send()) as { output: { Items?: Item[]; LastEvaluatedKey?: Item } };
    const input = call.input;
    if (call.command !== 'QueryCommand' || input.IndexName !== 'GSI1') return answer;
    const batchId = String(input.ExpressionAttributeValues[':pk']).replace('BATCH#', '');
    const after = Math.max(input.ExpressionAttributeValues[':after'], input.ExclusiveStartKey?.GSI1SK ?? -Infinity);
    const extra = (planted.get(batchId) ?? []).filter((entry) => entry.GSI1SK > after);
    if (extra.length === 0) return answer;
    const projected = extra.map((entry) => project(entry, input.ProjectionExpression, input.ExpressionAttributeNames));
    const merged = [...(answer.output.Items ?? []), ...projected].sort((a, b) => a.GSI1SK - b.GSI1SK).slice(0, input.Limit);
    const last = merged.at(-1)!;
    answer.output.Items = merged;
    answer.output.LastEvaluatedKey = merged.length === input.Limit ? { PK: last.PK, SK: last.SK, GSI1PK: last.GSI1PK, GSI1SK: last.GSI1SK } : undefined;
    return answer;
  });
}

/** What an index Query returns of an entry: the projected attributes plus the keys DynamoDB always includes. */
function project(entry: Item, expression: string | undefined, names: Record<string, string> = {}): Item {
  if (!expression) return { ...entry };
  const wanted = expression.split(',').map((part) => names[part.trim()] ?? part.trim());
  return Object.fromEntries(Object.entries(entry).filter(([name]) => wanted.includes(name) || ['PK', 'SK', 'GSI1PK', 'GSI1SK'].includes(name)));
}

/** Schedules a session but dies right after the number was handed out: the number is burnt, the session unassigned. */
async function scheduleAndCrashAfterTakingNumber(sessionId: string): Promise<void> {
  // Calls of a first schedule: the session's Query, then the pointer's UpdateItem (the number), then the assignment.
  const crash = interceptor.crashAt(2, 'after');
  // In process, the crash reaches the handler's error mapping as a bug: 500.
  expect((await scheduleOverHttp(sessionId)).status).toBe(500);
  expect(crash.fired()).toBe(true);
  interceptor.use(undefined);
}

/** The index entry a crash between dynalite's two writes leaves: the session's item as it would have been with this assignment. */
async function plantEntry(sessionId: string, batchId: string, sessionNumber: number): Promise<void> {
  const { Item } = await documentClient.send(
    new GetCommand({ TableName: process.env.TABLE_NAME!, Key: { PK: `SESSION#${sessionId}`, SK: '#SESSION' }, ConsistentRead: true }),
  );
  const entry = { ...Item!, batch_id: batchId, session_number: sessionNumber, scheduled_at: 1, GSI1PK: `BATCH#${batchId}`, GSI1SK: sessionNumber };
  planted.set(batchId, [...(planted.get(batchId) ?? []), entry]);
}

/** Every session a consumer gets by walking the batch by last_number, with the (batch, number) each was served under. */
async function walk(batchId: string, limit: number): Promise<string[]> {
  const served: string[] = [];
  let after = 0;
  for (let pages = 0; pages < 50; pages++) {
    const { status, body } = await pageOverHttp({ batch_id: batchId, after_number: after, limit });
    expect(status).toBe(200);
    if (body.sessions.length === 0) {
      expect(body.last_number).toBeNull();
      return served;
    }
    for (const s of body.sessions) served.push(`${s.session_id}@${s.batch_id}#${s.session_number}`);
    after = body.last_number;
  }
  throw new Error('the walk did not end');
}

const ids = { a: uniqueId('a'), b: uniqueId('b'), s: uniqueId('s'), c: uniqueId('c'), d: uniqueId('d'), e: uniqueId('e') };

beforeAll(async () => {
  await createTestTable();
  for (const id of Object.values(ids)) await seedSession({ session_id: id }, 2);
  // Batch 000001: a #1, b #2; s crashes holding #3; the batch is released.
  expect((await scheduleOverHttp(ids.a)).body).toMatchObject({ batch_id: '000001', session_number: 1 });
  expect((await scheduleOverHttp(ids.b)).body).toMatchObject({ batch_id: '000001', session_number: 2 });
  await scheduleAndCrashAfterTakingNumber(ids.s);
  await plantEntry(ids.s, '000001', 3);
  expect((await releaseOverHttp(uniqueId('r'))).body).toMatchObject({ batch_id: '000001', last_session_number: 3 });
  // Batch 000002: the retried s #1; d crashes holding #2 and its retry gets #3; c #4; e crashes holding #5, never retried.
  expect((await scheduleOverHttp(ids.s)).body).toMatchObject({ status: 'scheduled', batch_id: '000002', session_number: 1 });
  await scheduleAndCrashAfterTakingNumber(ids.d);
  await plantEntry(ids.d, '000002', 2);
  expect((await scheduleOverHttp(ids.d)).body).toMatchObject({ status: 'scheduled', batch_id: '000002', session_number: 3 });
  expect((await scheduleOverHttp(ids.c)).body).toMatchObject({ batch_id: '000002', session_number: 4 });
  await scheduleAndCrashAfterTakingNumber(ids.e);
  await plantEntry(ids.e, '000002', 5);
  answerWithPlantedEntries();
});
afterAll(() => interceptor.use(undefined));

test('the planted entries are in the index answers: without the check, pages would serve s twice, d twice and e unscheduled', async () => {
  const listed = async (batchId: string) => {
    const { Items = [] } = await documentClient.send(
      new QueryCommand({
        TableName: process.env.TABLE_NAME!,
        IndexName: 'GSI1',
        KeyConditionExpression: 'GSI1PK = :pk AND GSI1SK > :after',
        ExpressionAttributeValues: { ':pk': `BATCH#${batchId}`, ':after': 0 },
        Limit: 100,
      }),
    );
    return Items.map((item) => `${item.session_id}#${item.GSI1SK}`);
  };
  expect(await listed('000001')).toEqual([`${ids.a}#1`, `${ids.b}#2`, `${ids.s}#3`]);
  expect(await listed('000002')).toEqual([`${ids.s}#1`, `${ids.d}#2`, `${ids.d}#3`, `${ids.c}#4`, `${ids.e}#5`]);
});

test.each([[1], [2], [100]])('walking both batches with limit %i serves every session once, under its stored assignment only', async (limit) => {
  const served = [...(await walk('000001', limit)), ...(await walk('000002', limit))];
  expect(served).toEqual([
    `${ids.a}@000001#1`,
    `${ids.b}@000001#2`,
    `${ids.s}@000002#1`,
    `${ids.d}@000002#3`,
    `${ids.c}@000002#4`,
  ]);
  // What the table itself says each session holds.
  const stored = (await scanTable(documentClient, process.env.TABLE_NAME!))
    .filter((item) => item.SK === '#SESSION' && item.batch_id !== undefined)
    .map((item) => `${item.session_id}@${item.batch_id}#${item.session_number}`);
  expect(new Set(served)).toEqual(new Set(stored));
});

test('a page is still 2 rounds with stale entries among its sessions; only a page of nothing but stale entries reads on', async () => {
  counter.reset();
  const full = await pageOverHttp({ batch_id: '000002', limit: 100 });
  expect(full.body.sessions.map((s: { session_id: string }) => s.session_id)).toEqual([ids.s, ids.d, ids.c]);
  expect(counter.rounds()).toBe(2);

  // After #1 with limit 1 the index lists only the stale #2: the page lists on rather than end the walk early.
  counter.reset();
  const next = await pageOverHttp({ batch_id: '000002', after_number: 1, limit: 1 });
  expect(next.body).toMatchObject({ last_number: 3, sessions: [{ session_id: ids.d, session_number: 3 }] });
  expect(counter.rounds()).toBe(4);
});
