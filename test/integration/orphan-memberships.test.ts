/**
 * Orphan memberships. A schedule lists the session in its batch's shard
 * before it commits the session's assignment; a crash between the two (or a
 * lost race, or a deadline) leaves a membership that no assignment confirms,
 * and a retry lists the session again under another number, maybe in the next
 * batch. A page must never serve a session under a membership its assignment
 * does not hold, and still walk the batch to its end.
 *
 * The crashes are real: the schedule dies right before its commit.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { membershipPartition } from '../../shared/data/keys';
import { documentClient } from '../../shared/data/store-from-env';
import { interceptCalls, SimulatedCrash } from '../support/call-interceptor';
import { countRounds } from '../support/round-counter';
import { scanTable } from '../support/scan-table';
import { createTestTable, pageOverHttp, releaseOverHttp, scheduleOverHttp, seedSession, uniqueId } from '../support/handlers';

const SHARDS = Number(process.env.SHARD_COUNT);
const interceptor = interceptCalls(documentClient, 'orphanMemberships');
const counter = countRounds(documentClient);
afterAll(() => counter.detach());

/** Schedules a session but dies right before committing its assignment: its membership stays, an orphan. */
async function scheduleAndCrashBeforeCommit(sessionId: string): Promise<void> {
  let crashed = false;
  interceptor.use(async (call, send) => {
    if (call.command === 'PutItemCommand' && call.input.Item?.SK === '#ASSIGNMENT') {
      crashed = true;
      throw new SimulatedCrash('crashed before the commit');
    }
    return send();
  });
  // In process, the crash reaches the handler's error mapping as a bug: 500.
  expect((await scheduleOverHttp(sessionId)).status).toBe(500);
  interceptor.use(undefined);
  expect(crashed).toBe(true);
}

/** Every session a consumer gets by walking the batch by last_number. */
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

/** Every membership of a batch, read straight from its shards, ascending: orphans included. */
async function listed(batchId: string): Promise<string[]> {
  const items = [];
  for (let shard = 0; shard < SHARDS; shard++) {
    const { Items = [] } = await documentClient.send(
      new QueryCommand({
        TableName: process.env.TABLE_NAME!,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': membershipPartition(batchId, shard) },
        ConsistentRead: true,
      }),
    );
    items.push(...Items);
  }
  return items.sort((a, b) => a.session_number - b.session_number).map((item) => item.session_id);
}

const ids = { a: uniqueId('a'), b: uniqueId('b'), s: uniqueId('s'), c: uniqueId('c'), d: uniqueId('d'), e: uniqueId('e') };
const numbers: Record<string, number> = {};

beforeAll(async () => {
  await createTestTable();
  for (const id of Object.values(ids)) await seedSession({ session_id: id }, 2);
  // Batch 000001: a, b; s crashes before its commit; the batch is released.
  for (const id of [ids.a, ids.b]) expect((await scheduleOverHttp(id)).body).toMatchObject({ batch_id: '000001' });
  await scheduleAndCrashBeforeCommit(ids.s);
  expect((await releaseOverHttp(uniqueId('r'))).body).toMatchObject({ batch_id: '000001' });
  // Batch 000002: s retried; d crashes, then its retry; c; e crashes and is never retried.
  const s = await scheduleOverHttp(ids.s);
  expect(s.body).toMatchObject({ status: 'scheduled', batch_id: '000002' });
  numbers.s = s.body.session_number;
  await scheduleAndCrashBeforeCommit(ids.d);
  const d = await scheduleOverHttp(ids.d);
  expect(d.body).toMatchObject({ status: 'scheduled', batch_id: '000002' });
  numbers.d = d.body.session_number;
  expect((await scheduleOverHttp(ids.c)).body).toMatchObject({ batch_id: '000002' });
  await scheduleAndCrashBeforeCommit(ids.e);
});

test('the orphans are listed: without the check, pages would serve s in both batches, d twice and e unscheduled', async () => {
  expect(await listed('000001')).toEqual([ids.a, ids.b, ids.s]);
  expect(await listed('000002')).toEqual([ids.s, ids.d, ids.d, ids.c, ids.e]);
});

test.each([[1], [2], [100]])('walking both batches with limit %i serves every session once, under its assignment only', async (limit) => {
  const served = [...(await walk('000001', limit)), ...(await walk('000002', limit))];
  expect(served.map((s) => s.split('@')[0])).toEqual([ids.a, ids.b, ids.s, ids.d, ids.c]);
  // What the table itself says each session holds: its assignment items.
  const stored = (await scanTable(documentClient, process.env.TABLE_NAME!))
    .filter((item) => item.SK === '#ASSIGNMENT')
    .map((item) => `${item.session_id}@${item.batch_id}#${item.session_number}`);
  expect(new Set(served)).toEqual(new Set(stored));
});

test('a page is still 2 rounds with orphans among its sessions; only a page of nothing but orphans reads on', async () => {
  counter.reset();
  const full = await pageOverHttp({ batch_id: '000002', limit: 100 });
  expect(full.body.sessions.map((s: { session_id: string }) => s.session_id)).toEqual([ids.s, ids.d, ids.c]);
  expect(counter.rounds()).toBe(2);

  // After s with limit 1 the listing holds only d's orphan (it was listed before d's retry): the page
  // lists on rather than end the walk early.
  counter.reset();
  const next = await pageOverHttp({ batch_id: '000002', after_number: numbers.s!, limit: 1 });
  expect(next.body).toMatchObject({ last_number: numbers.d, sessions: [{ session_id: ids.d }] });
  expect(counter.rounds()).toBe(4);
});
