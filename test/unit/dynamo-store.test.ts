/**
 * The exact DynamoDB requests the store (shared/data/dynamo-store.ts) sends: the keys, the
 * conditions the invariants rest on, and the reads that must be strongly
 * consistent. Expressions are stated with the names and values they stand for.
 */
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { createDocumentClient } from '../../shared/data/client';
import { sessionStore, tableOf } from '../../shared/data/dynamo-store';
import { assignmentItem, legacyAssignmentAttributes, releaseItem, sessionItem, toPointer } from '../../shared/data/items';
import { assignmentKey, releaseKey } from '../../shared/data/keys';
import { ServiceUnavailable } from '../../shared/domain/errors';
import { conditionFailed, db, ddb, eventRow, pointerRow, POINTER_KEY, readableExpressions, releasedRow, session, sessionRow, store, TABLE_NAME } from './store-fixtures';

beforeEach(() => ddb.reset());

const SHARD_KEY = { PK: 'SHARD#02', SK: '#SHARD' };
const assignment = { batchId: '000003', sessionNumber: 1_234_567 };
const assignmentRow = assignmentItem('s-1', assignment, 1_700_000_200);
const shardedPointer = { ...pointerRow, opened_at: 1_700_000_000_000, shards: 4, number_floor: 0 };
const fencedPointer = { ...shardedPointer, release_id: 'r-1', released_at: 1_700_000_100, release_origin: 'api' };

describe('scheduling', () => {
  test('findSession: one strongly consistent Query of the session partition up to its events, Limit 3: assignment, session, first event', async () => {
    ddb.on(QueryCommand).resolves({ Items: [assignmentRow, sessionRow, eventRow] });
    await expect(store.findSession('s-1')).resolves.toEqual({ session: { ...session, assignment }, hasEvents: true });
    expect(ddb.calls()).toHaveLength(1);
    expect(ddb.commandCalls(QueryCommand)[0]!.args[0].input).toEqual({
      TableName: TABLE_NAME,
      // Up to its events: the UBI import's sources (UBI#…) sort after them and are not read.
      KeyConditionExpression: '#pk = :pk AND #sk < :end',
      ExpressionAttributeNames: { '#pk': 'PK', '#sk': 'SK' },
      ExpressionAttributeValues: { ':pk': 'SESSION#s-1', ':end': 'UBI#' },
      ConsistentRead: true,
      Limit: 3,
    });
  });

  test('findSession: no events, no session, events without a session, and a session the counter layout scheduled', async () => {
    const legacy = { ...sessionRow, ...legacyAssignmentAttributes('000002', 9, 1) };
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [sessionRow] })
      .resolvesOnce({ Items: [] })
      .resolvesOnce({ Items: [eventRow] })
      .resolvesOnce({ Items: [legacy, eventRow] });
    await expect(store.findSession('s-1')).resolves.toEqual({ session, hasEvents: false });
    await expect(store.findSession('s-1')).resolves.toBeUndefined();
    await expect(store.findSession('s-1')).resolves.toBeUndefined();
    await expect(store.findSession('s-1')).resolves.toEqual({
      session: { ...session, assignment: { batchId: '000002', sessionNumber: 9 } },
      hasEvents: true,
    });
  });

  test('readShard: one eventually consistent GetItem of the shard (a stale answer only fails the touch)', async () => {
    ddb.on(GetCommand).resolvesOnce({ Item: { ...SHARD_KEY, batch_seq: 3, opened_at: 5, number_floor: 0 } }).resolvesOnce({});
    await expect(store.readShard(2)).resolves.toEqual({ shard: 2, batchSeq: 3, openedAt: 5, numberFloor: 0, fenced: false });
    await expect(store.readShard(2)).resolves.toBeUndefined();
    expect(ddb.commandCalls(GetCommand)[0]!.args[0].input).toEqual({ TableName: TABLE_NAME, Key: SHARD_KEY });
  });

  test('touchShard: a conditional write that passes only while the shard takes sessions for that batch, unfenced', async () => {
    ddb.on(UpdateCommand).resolvesOnce({}).rejectsOnce(conditionFailed());
    await expect(store.touchShard(2, 3)).resolves.toBe(true);
    await expect(store.touchShard(2, 3)).resolves.toBe(false);
    const input = ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(input).toMatchObject({ TableName: TABLE_NAME, Key: SHARD_KEY });
    expect(readableExpressions(input)).toEqual({
      update: 'SET batch_seq = 3',
      condition: 'batch_seq = 3 AND attribute_not_exists(release_id)',
    });
  });

  test('listMember: a put under the batch shard and a 16-digit number, conditional on the number being free', async () => {
    ddb.on(PutCommand).resolvesOnce({}).rejectsOnce(conditionFailed());
    const membership = { sessionId: 's-1', shard: 2, scheduledAt: 7, assignment };
    await expect(store.listMember(membership)).resolves.toBe(true);
    await expect(store.listMember(membership)).resolves.toBe(false);
    const input = ddb.commandCalls(PutCommand)[0]!.args[0].input;
    expect(input.Item).toEqual({
      PK: 'MEMBERS#000003#02',
      SK: '0000000001234567',
      session_id: 's-1',
      session_number: 1_234_567,
      scheduled_at: 7,
    });
    expect(readableExpressions(input).condition).toBe('attribute_not_exists(PK)');
  });

  test('commitAssignment: a put of the assignment item, conditional on none; a lost race reads the winner’s', async () => {
    ddb.on(PutCommand).resolvesOnce({}).rejectsOnce(conditionFailed());
    ddb.on(GetCommand).resolves({ Item: assignmentItem('s-1', { batchId: '000003', sessionNumber: 42 }, 1) });
    await expect(store.commitAssignment('s-1', assignment, 1_700_000_200)).resolves.toEqual(assignment);
    await expect(store.commitAssignment('s-1', assignment, 1_700_000_200)).resolves.toEqual({ batchId: '000003', sessionNumber: 42 });
    const input = ddb.commandCalls(PutCommand)[0]!.args[0].input;
    expect(input.Item).toEqual({
      PK: 'SESSION#s-1',
      SK: '#ASSIGNMENT',
      session_id: 's-1',
      batch_id: '000003',
      session_number: 1_234_567,
      scheduled_at: 1_700_000_200,
    });
    expect(readableExpressions(input).condition).toBe('attribute_not_exists(PK)');
    expect(ddb.commandCalls(GetCommand)[0]!.args[0].input).toEqual({ TableName: TABLE_NAME, Key: assignmentKey('s-1'), ConsistentRead: true });
  });

  test('commitAssignment: past its deadline the write is abandoned (SDK retries included) as ServiceUnavailable', async () => {
    // A store that accepts the connection and never answers: only the deadline ends the call.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => void sockets.add(socket.on('data', () => undefined)));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const client = createDocumentClient({ endpoint: `http://127.0.0.1:${(silent.address() as AddressInfo).port}` });
    try {
      const started = Date.now();
      const commit = sessionStore(tableOf(client, TABLE_NAME)).commitAssignment('s-1', assignment, 1, Date.now() + 200);
      await expect(commit).rejects.toBeInstanceOf(ServiceUnavailable);
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      client.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe('batches', () => {
  test('openBatch: batch 1 is a put conditional on no pointer, with the store’s shards and its opening time', async () => {
    ddb.on(PutCommand).resolves({});
    await expect(store.openBatch(undefined, 1_700_000_000_000)).resolves.toEqual({
      batchSeq: 1,
      batchId: '000001',
      openedAt: 1_700_000_000_000,
      shards: store.shards,
      numberFloor: 0,
    });
    const input = ddb.commandCalls(PutCommand)[0]!.args[0].input;
    expect(input.Item).toMatchObject({ ...POINTER_KEY, batch_seq: 1, batch_id: '000001', shards: store.shards });
    expect(readableExpressions(input).condition).toBe('attribute_not_exists(PK)');
  });

  test('openBatch: the next one replaces exactly the released pointer it was given, keeping at least its shards', async () => {
    ddb.on(UpdateCommand).resolvesOnce({ Attributes: { ...shardedPointer, batch_seq: 4, batch_id: '000004' } }).rejectsOnce(conditionFailed());
    const released = toPointer(fencedPointer);
    await expect(store.openBatch(released, 9)).resolves.toMatchObject({ batchSeq: 4, batchId: '000004' });
    await expect(store.openBatch(released, 9)).resolves.toBeUndefined();
    const input = ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(input).toMatchObject({ Key: POINTER_KEY, ReturnValues: 'ALL_NEW' });
    expect(readableExpressions(input)).toEqual({
      update: `SET batch_seq = 4, batch_id = "000004", opened_at = 9, shards = ${Math.max(store.shards, 4)}, number_floor = 0 REMOVE release_id, released_at, release_origin, last_number`,
      condition: 'release_id = "r-1" AND batch_seq = 3',
    });
  });

  test('widenBatch: a batch the counter layout opened gets shards, and numbers above its counter’s', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: { ...pointerRow, shards: store.shards, opened_at: 9, number_floor: 7 } });
    await expect(store.widenBatch(toPointer(pointerRow), 9)).resolves.toMatchObject({ shards: store.shards, numberFloor: 7 });
    expect(readableExpressions(ddb.commandCalls(UpdateCommand)[0]!.args[0].input)).toEqual({
      update: `SET shards = ${store.shards}, opened_at = if_not_exists(opened_at, 9), number_floor = if_not_exists(number_floor, 7)`,
      condition: 'batch_seq = 3 AND attribute_not_exists(release_id)',
    });
  });

  test('placeShard: moves a shard into the batch only forward; a shard there already (or fenced there) stays', async () => {
    ddb.on(UpdateCommand).resolvesOnce({}).rejectsOnce(conditionFailed());
    await store.placeShard(2, toPointer(shardedPointer));
    await store.placeShard(2, toPointer(shardedPointer)); // a failed condition is not an error
    expect(readableExpressions(ddb.commandCalls(UpdateCommand)[0]!.args[0].input)).toEqual({
      update: 'SET batch_seq = 3, opened_at = 1700000000000, number_floor = 0 REMOVE release_id',
      condition: '(attribute_not_exists(batch_seq) OR batch_seq < 3)',
    });
  });
});

describe('releases', () => {
  test('readReleaseState: consistent reads of the pointer, then of the release record', async () => {
    const order: string[] = [];
    ddb.on(GetCommand).callsFake(async (input: { Key: Record<string, string> }) => {
      order.push(input.Key.PK!);
      return { Item: input.Key.PK === 'BATCH' ? fencedPointer : releaseItem({ release_id: 'r-1', batch_id: '000003', released_at: 9 }, 'api') };
    });
    await expect(store.readReleaseState('r-1')).resolves.toEqual({
      pointer: toPointer(fencedPointer),
      release: { release_id: 'r-1', batch_id: '000003', released_at: 9 },
    });
    expect(order).toEqual(['BATCH', 'RELEASE#r-1']);
    for (const call of ddb.commandCalls(GetCommand)) expect(call.args[0].input.ConsistentRead).toBe(true);
  });

  test('fencePointer: fences the pointer only if it is still the same, unreleased batch', async () => {
    ddb.on(UpdateCommand).resolvesOnce({ Attributes: fencedPointer }).rejectsOnce(conditionFailed());
    const stamp = { releaseId: 'r-1', releasedAt: 1_700_000_100, origin: 'api' } as const;
    await expect(store.fencePointer(toPointer(shardedPointer), stamp)).resolves.toEqual(toPointer(fencedPointer));
    await expect(store.fencePointer(toPointer(shardedPointer), stamp)).resolves.toBeUndefined();
    const input = ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(input).toMatchObject({ TableName: TABLE_NAME, Key: POINTER_KEY, ReturnValues: 'ALL_NEW' });
    expect(readableExpressions(input)).toEqual({
      update: 'SET release_id = "r-1", released_at = 1700000100, release_origin = "api"',
      condition: 'batch_seq = 3 AND attribute_not_exists(release_id)',
    });
  });

  test('fenceShards: one conditional write per shard of the batch, together: at or behind the batch, fenced by no other release', async () => {
    ddb.on(UpdateCommand).resolves({}).on(UpdateCommand, { Key: { PK: 'SHARD#01', SK: '#SHARD' } }).rejects(conditionFailed());
    await store.fenceShards(toPointer(fencedPointer)); // a shard already past the batch is no error
    const inputs = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(inputs.map((i) => i.Key!.PK)).toEqual(['SHARD#00', 'SHARD#01', 'SHARD#02', 'SHARD#03']);
    expect(readableExpressions(inputs[0]!)).toEqual({
      update: 'SET batch_seq = 3, release_id = "r-1"',
      condition:
        '(attribute_not_exists(batch_seq) OR batch_seq < 3 OR (batch_seq = 3 AND (attribute_not_exists(release_id) OR release_id = "r-1")))',
    });
  });

  test('writeRelease and writeBatchRecord: unconditional puts under their own keys', async () => {
    ddb.on(PutCommand).resolves({});
    const release = { release_id: 'r-1', batch_id: '000003', released_at: 9 };
    await store.writeRelease(release, 'api');
    await store.writeBatchRecord(release);
    const [record, batch] = ddb.commandCalls(PutCommand).map((c) => c.args[0].input);
    expect(record).toEqual({ TableName: TABLE_NAME, Item: { ...releaseKey('r-1'), ...release, origin: 'api' } });
    expect(batch).toEqual({ TableName: TABLE_NAME, Item: { PK: 'BATCH#000003', SK: '#BATCH', ...release } });
  });
});

describe('pages', () => {
  test('listBatchEntries: every shard’s partition after a number, strongly consistent, and the batch index, merged by number', async () => {
    const member = (n: number, shard: number) => ({ PK: `MEMBERS#000003#0${shard}`, SK: String(n).padStart(16, '0'), session_id: `s-${n}`, session_number: n });
    ddb
      .on(QueryCommand)
      .resolves({ Items: [] })
      .on(QueryCommand, { ExpressionAttributeValues: { ':pk': 'MEMBERS#000003#00', ':after': '0000000000000005' } })
      .resolves({ Items: [member(9000, 0), member(30000, 0)] })
      .on(QueryCommand, { ExpressionAttributeValues: { ':pk': 'MEMBERS#000003#01', ':after': '0000000000000005' } })
      .resolves({ Items: [member(8200, 1)] })
      .on(QueryCommand, { IndexName: 'GSI1' })
      .resolves({ Items: [{ session_id: 's-6', GSI1SK: 6 }] });
    const entries = await store.listBatchEntries('000003', 5, 3, { from: 0, to: 4 });
    expect(entries.map((e) => [e.sessionId, e.assignment.sessionNumber])).toEqual([
      ['s-6', 6],
      ['s-8200', 8200],
      ['s-9000', 9000],
    ]);
    const inputs = ddb.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(inputs).toHaveLength(4 + 1);
    expect(inputs[0]).toEqual({
      TableName: TABLE_NAME,
      KeyConditionExpression: '#pk = :pk AND #sk > :after',
      ExpressionAttributeNames: { '#pk': 'PK', '#sk': 'SK' },
      ExpressionAttributeValues: { ':pk': 'MEMBERS#000003#00', ':after': '0000000000000005' },
      ConsistentRead: true,
      Limit: 3,
    });
    const index = inputs.find((i) => i.IndexName === 'GSI1')!;
    expect(index).toMatchObject({ ExpressionAttributeValues: { ':pk': 'BATCH#000003', ':after': 5 }, Limit: 3 });
    expect(index).not.toHaveProperty('ConsistentRead', true); // a GSI cannot be read consistently
  });

  test('listBatchEntries of extra shards only (a batch wider than the setting) leaves the index out', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    await store.listBatchEntries('000003', 0, 10, { from: 4, to: 6 });
    expect(ddb.commandCalls(QueryCommand).map((c) => c.args[0].input.ExpressionAttributeValues![':pk'])).toEqual([
      'MEMBERS#000003#04',
      'MEMBERS#000003#05',
    ]);
  });

  test('readSession: one strongly consistent Query of the session partition up to its events: the assignment, the item, then the oldest events', async () => {
    ddb.on(QueryCommand).resolves({ Items: [assignmentRow, sessionRow, eventRow] });
    await expect(store.readSession('s-1', 100)).resolves.toEqual({
      session: { ...session, assignment },
      events: [{ event_id: 'e-1', session_id: 's-1', object_id: 'p1', event_type: 'click', created_at: 5 }],
    });
    const input = ddb.commandCalls(QueryCommand)[0]!.args[0].input;
    expect(input).toEqual({
      TableName: TABLE_NAME,
      // Up to its events: the UBI import's sources (UBI#…) sort after them and are not read.
      KeyConditionExpression: '#pk = :pk AND #sk < :end',
      ExpressionAttributeNames: { '#pk': 'PK', '#sk': 'SK' },
      ExpressionAttributeValues: { ':pk': 'SESSION#s-1', ':end': 'UBI#' },
      ConsistentRead: true,
      // The assignment and the session item, then at most 100 events.
      Limit: 102,
    });
    expect(input.ScanIndexForward).not.toBe(false);
  });

  test('readSession of a partition without its session item: events only, no session', async () => {
    ddb.on(QueryCommand).resolves({ Items: [eventRow] });
    await expect(store.readSession('s-1', 0)).resolves.toEqual({ session: undefined, events: [] });
  });

  test('a session the counter layout scheduled carries its assignment on its own item', async () => {
    ddb.on(QueryCommand).resolves({ Items: [{ ...sessionItem(session), ...legacyAssignmentAttributes('000002', 7, 1) }] });
    await expect(store.readSession('s-1', 10)).resolves.toMatchObject({ session: { assignment: { batchId: '000002', sessionNumber: 7 } } });
  });
});

test('a throttled call past the SDK retries is ServiceUnavailable; a failed condition outside a conditional write is not', async () => {
  ddb.on(GetCommand).rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));
  await expect(store.readPointer()).rejects.toBeInstanceOf(ServiceUnavailable);
  ddb.on(UpdateCommand).rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));
  await expect(store.touchShard(0, 1)).rejects.toBeInstanceOf(ServiceUnavailable);
});

test('the shard count is checked when the store is built', () => {
  for (const shards of [0, 65, 1.5]) expect(() => sessionStore(tableOf(db, TABLE_NAME, { shards }))).toThrow(/1 to 64/);
  expect(sessionStore(tableOf(db, TABLE_NAME, { shards: 64 })).shards).toBe(64);
});
