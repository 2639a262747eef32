/**
 * The exact DynamoDB requests the data layer sends, and the keys it builds:
 * the layout of DESIGN.md, the conditions the invariants rest on, and the
 * reads that must be strongly consistent.
 */
import { ConditionalCheckFailedException, DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  BatchGetCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type GetCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoSessionStore } from '../../shared/data/dynamo-store';
import { assignmentAttributes, eventItem, releaseItem, sessionItem, toPointer, toStoredSession } from '../../shared/data/items';
import {
  batchIndexKey,
  batchPartition,
  collectingPointerKey,
  eventKey,
  eventSortKeyPrefix,
  isSessionSortKey,
  LAYOUT_ATTRIBUTES,
  releaseKey,
  sessionKey,
  sessionPartition,
} from '../../shared/data/keys';
import { SessionWriter } from '../../shared/data/session-writer';
import { ServiceUnavailable, SessionNotFound } from '../../shared/domain/errors';
import type { Session } from '../../shared/schemas';

const TABLE_NAME = 'table-under-test';
const POINTER_KEY = { PK: 'BATCH', SK: '#COLLECTING' };

const db = DynamoDBDocumentClient.from(
  new DynamoDBClient({ region: 'local', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
  { marshallOptions: { removeUndefinedValues: true } },
);
const ddb = mockClient(db);
const store = new DynamoSessionStore(db, TABLE_NAME);

beforeEach(() => ddb.reset());

const conditionFailed = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });

const session: Session = {
  session_id: 's-1',
  search_query: 'q',
  created_at: 1_700_000_000,
  search_results: [{ object_id: 'p1' }],
  is_irrelevant: false,
  is_payload_search: false,
};
const sessionRow = { ...sessionItem(session) };
const eventRow = eventItem({ event_id: 'e-1', session_id: 's-1', object_id: 'p1', event_type: 'click', created_at: 5 });
const pointerRow = { ...POINTER_KEY, batch_id: '000003', batch_seq: 3, last_number: 7 };
const releasedRow = { ...pointerRow, release_id: 'r-1', released_at: 1_700_000_100, release_origin: 'api' };

describe('key builders', () => {
  test('build the layout of DESIGN.md', () => {
    expect(sessionKey('a:b@c')).toEqual({ PK: 'SESSION#a:b@c', SK: '#SESSION' });
    expect(sessionPartition('x')).toBe('SESSION#x');
    expect(eventKey('s', 1_700_000_000, 'e-9')).toEqual({ PK: 'SESSION#s', SK: 'EVENT#001700000000#e-9' });
    expect(collectingPointerKey()).toEqual(POINTER_KEY);
    expect(releaseKey('r-1')).toEqual({ PK: 'RELEASE#r-1', SK: '#RELEASE' });
    expect(batchPartition('000002')).toBe('BATCH#000002');
    expect(batchIndexKey('000002', 17)).toEqual({ GSI1PK: 'BATCH#000002', GSI1SK: 17 });
    expect(eventSortKeyPrefix).toBe('EVENT#');
    expect(LAYOUT_ATTRIBUTES).toEqual(['PK', 'SK', 'GSI1PK', 'GSI1SK']);
  });

  test('a session sorts before its events, and events sort by time whatever their ids', () => {
    const keys = [eventKey('s', 10, 'a'), eventKey('s', 9, 'z'), sessionKey('s'), eventKey('s', 100, '0')].map((k) => k.SK);
    // DynamoDB orders sort keys by UTF-8 bytes, which is JavaScript's order for these ASCII keys.
    expect([...keys].sort()).toEqual(['#SESSION', 'EVENT#000000000009#z', 'EVENT#000000000010#a', 'EVENT#000000000100#0']);
    expect(isSessionSortKey('#SESSION')).toBe(true);
    expect(isSessionSortKey('EVENT#000000000009#z')).toBe(false);
  });

  test('items carry the wire fields plus their keys, and reading drops the keys again', () => {
    expect(sessionItem(session)).toEqual({ PK: 'SESSION#s-1', SK: '#SESSION', ...session });
    expect(assignmentAttributes('000002', 4, 99)).toEqual({
      batch_id: '000002',
      session_number: 4,
      scheduled_at: 99,
      GSI1PK: 'BATCH#000002',
      GSI1SK: 4,
    });
    const scheduledRow = { ...sessionRow, ...assignmentAttributes('000002', 4, 99) };
    expect(toStoredSession(scheduledRow)).toEqual({ ...session, assignment: { batchId: '000002', sessionNumber: 4 } });
    expect(releaseItem({ release_id: 'r', batch_id: '000001', released_at: 5, last_session_number: 2 }, 'api')).toEqual({
      PK: 'RELEASE#r',
      SK: '#RELEASE',
      release_id: 'r',
      batch_id: '000001',
      released_at: 5,
      last_session_number: 2,
      origin: 'api',
    });
    expect(toPointer(releasedRow)).toEqual({
      batchSeq: 3,
      batchId: '000003',
      lastNumber: 7,
      release: { releaseId: 'r-1', releasedAt: 1_700_000_100, origin: 'api' },
    });
    // Pointers released before origins were recorded: the workflow announced them.
    const { release_origin: _, ...olderRow } = releasedRow;
    expect(toPointer(olderRow).release?.origin).toBe('workflow');
  });
});

describe('DynamoSessionStore requests', () => {
  test('findSession: one strongly consistent Query on the session partition with Limit 2', async () => {
    ddb.on(QueryCommand).resolves({ Items: [sessionRow, eventRow] });
    await expect(store.findSession('s-1')).resolves.toEqual({ session, hasEvents: true });
    expect(ddb.calls()).toHaveLength(1);
    expect(ddb.commandCalls(QueryCommand)[0]!.args[0].input).toEqual({
      TableName: TABLE_NAME,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': 'PK' },
      ExpressionAttributeValues: { ':pk': 'SESSION#s-1' },
      ConsistentRead: true,
      Limit: 2,
    });
  });

  test('findSession: no events, no session, or events without a session', async () => {
    ddb.on(QueryCommand).resolvesOnce({ Items: [sessionRow] }).resolvesOnce({ Items: [] }).resolvesOnce({ Items: [eventRow] });
    await expect(store.findSession('s-1')).resolves.toEqual({ session, hasEvents: false });
    await expect(store.findSession('s-1')).resolves.toBeUndefined();
    await expect(store.findSession('s-1')).resolves.toBeUndefined();
  });

  test('takeNumber: one conditional ADD on the pointer that opens batch 1 if there is none', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: { ...pointerRow, last_number: 8 } });
    await expect(store.takeNumber()).resolves.toEqual({ granted: { batchId: '000003', sessionNumber: 8 } });
    expect(ddb.commandCalls(UpdateCommand)[0]!.args[0].input).toEqual({
      TableName: TABLE_NAME,
      Key: POINTER_KEY,
      UpdateExpression:
        'SET batch_id = if_not_exists(batch_id, :firstBatch), batch_seq = if_not_exists(batch_seq, :one) ADD last_number :one',
      ConditionExpression: 'attribute_not_exists(release_id)',
      ExpressionAttributeValues: { ':firstBatch': '000001', ':one': 1 },
      ReturnValues: 'ALL_NEW',
    });
  });

  test('takeNumber: a fenced pointer fails the condition and is read back consistently', async () => {
    ddb.on(UpdateCommand).rejects(conditionFailed());
    ddb.on(GetCommand).resolves({ Item: releasedRow });
    await expect(store.takeNumber()).resolves.toEqual({ released: toPointer(releasedRow) });
    expect(ddb.commandCalls(GetCommand)[0]!.args[0].input).toEqual({ TableName: TABLE_NAME, Key: POINTER_KEY, ConsistentRead: true });
  });

  test('openNextBatch: replaces exactly the released pointer it was given', async () => {
    ddb.on(UpdateCommand).resolvesOnce({}).rejectsOnce(conditionFailed());
    const released = toPointer(releasedRow);
    await expect(store.openNextBatch(released)).resolves.toEqual({ batchId: '000004', sessionNumber: 1 });
    await expect(store.openNextBatch(released)).resolves.toBeUndefined();
    expect(ddb.commandCalls(UpdateCommand)[0]!.args[0].input).toEqual({
      TableName: TABLE_NAME,
      Key: POINTER_KEY,
      UpdateExpression:
        'SET batch_id = :batchId, batch_seq = :batchSeq, last_number = :one REMOVE release_id, released_at, release_origin',
      ConditionExpression: 'release_id = :releaseId AND batch_seq = :releasedSeq',
      ExpressionAttributeValues: { ':batchId': '000004', ':batchSeq': 4, ':one': 1, ':releaseId': 'r-1', ':releasedSeq': 3 },
    });
  });

  test('assignSession: one conditional update that only an existing, unassigned session passes', async () => {
    ddb.on(UpdateCommand).resolves({});
    await expect(store.assignSession('s-1', { batchId: '000003', sessionNumber: 8 }, 1_700_000_200)).resolves.toEqual({
      batchId: '000003',
      sessionNumber: 8,
    });
    expect(ddb.calls()).toHaveLength(1);
    expect(ddb.commandCalls(UpdateCommand)[0]!.args[0].input).toEqual({
      TableName: TABLE_NAME,
      Key: { PK: 'SESSION#s-1', SK: '#SESSION' },
      UpdateExpression: 'SET #s0 = :s0, #s1 = :s1, #s2 = :s2, #s3 = :s3, #s4 = :s4',
      ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(#batch)',
      ExpressionAttributeNames: {
        '#s0': 'batch_id',
        '#s1': 'session_number',
        '#s2': 'scheduled_at',
        '#s3': 'GSI1PK',
        '#s4': 'GSI1SK',
        '#pk': 'PK',
        '#batch': 'batch_id',
      },
      ExpressionAttributeValues: {
        ':s0': '000003',
        ':s1': 8,
        ':s2': 1_700_000_200,
        ':s3': 'BATCH#000003',
        ':s4': 8,
      },
    });
  });

  test('assignSession: a lost race reads the winner’s assignment consistently; a vanished session is SessionNotFound', async () => {
    ddb.on(UpdateCommand).rejects(conditionFailed());
    ddb.on(GetCommand)
      .resolvesOnce({ Item: { ...sessionRow, ...assignmentAttributes('000003', 2, 1) } })
      .resolvesOnce({});
    await expect(store.assignSession('s-1', { batchId: '000003', sessionNumber: 8 }, 5)).resolves.toEqual({
      batchId: '000003',
      sessionNumber: 2,
    });
    expect(ddb.commandCalls(GetCommand)[0]!.args[0].input).toEqual({
      TableName: TABLE_NAME,
      Key: { PK: 'SESSION#s-1', SK: '#SESSION' },
      ConsistentRead: true,
    });
    await expect(store.assignSession('s-1', { batchId: '000003', sessionNumber: 9 }, 5)).rejects.toBeInstanceOf(SessionNotFound);
  });

  test('readReleaseState: consistent reads of the release record and the pointer', async () => {
    ddb.on(GetCommand, { Key: releaseKey('r-1') }).resolves({ Item: releaseItem({ release_id: 'r-1', batch_id: '000003', released_at: 9, last_session_number: 7 }, 'workflow') });
    ddb.on(GetCommand, { Key: POINTER_KEY }).resolves({ Item: releasedRow });
    await expect(store.readReleaseState('r-1')).resolves.toEqual({
      release: { release_id: 'r-1', batch_id: '000003', released_at: 9, last_session_number: 7 },
      pointer: toPointer(releasedRow),
    });
    const inputs = ddb.commandCalls(GetCommand).map((c) => c.args[0].input);
    expect(inputs).toEqual(
      expect.arrayContaining<GetCommandInput>([
        { TableName: TABLE_NAME, Key: { PK: 'RELEASE#r-1', SK: '#RELEASE' }, ConsistentRead: true },
        { TableName: TABLE_NAME, Key: POINTER_KEY, ConsistentRead: true },
      ]),
    );
    expect(inputs).toHaveLength(2);
  });

  // Regression: read in parallel, the record could be read (absent) before a roll-forward wrote it
  // and opened the next batch, and the pointer after: the retried release then fenced a second batch.
  // Read after the pointer, an absent record means the pointer has not moved past this release.
  test('readReleaseState: the release record is requested only after the pointer read has answered', async () => {
    const log: string[] = [];
    ddb.on(GetCommand, { Key: POINTER_KEY }).callsFake(async () => {
      log.push('pointer sent');
      await new Promise((resolve) => setTimeout(resolve, 5));
      log.push('pointer answered');
      return { Item: pointerRow };
    });
    ddb.on(GetCommand, { Key: releaseKey('r-1') }).callsFake(async () => {
      log.push('release sent');
      return {};
    });
    await store.readReleaseState('r-1');
    expect(log).toEqual(['pointer sent', 'pointer answered', 'release sent']);
  });

  test('markReleased: fences the pointer only if it is still the same, unreleased batch', async () => {
    ddb.on(UpdateCommand).resolvesOnce({ Attributes: releasedRow }).rejectsOnce(conditionFailed());
    const pointer = toPointer(pointerRow);
    const stamp = { releaseId: 'r-1', releasedAt: 1_700_000_100, origin: 'api' } as const;
    await expect(store.markReleased(pointer, stamp)).resolves.toEqual(toPointer(releasedRow));
    await expect(store.markReleased(pointer, stamp)).resolves.toBeUndefined();
    expect(ddb.commandCalls(UpdateCommand)[0]!.args[0].input).toEqual({
      TableName: TABLE_NAME,
      Key: POINTER_KEY,
      UpdateExpression: 'SET release_id = :releaseId, released_at = :releasedAt, release_origin = :origin',
      ConditionExpression: 'batch_seq = :seq AND attribute_not_exists(release_id)',
      ExpressionAttributeValues: { ':releaseId': 'r-1', ':releasedAt': 1_700_000_100, ':origin': 'api', ':seq': 3 },
      ReturnValues: 'ALL_NEW',
    });
  });

  test('writeRelease: puts the release record under its own key', async () => {
    ddb.on(PutCommand).resolves({});
    await store.writeRelease({ release_id: 'r-1', batch_id: '000003', released_at: 9, last_session_number: 7 }, 'api');
    expect(ddb.commandCalls(PutCommand)[0]!.args[0].input).toEqual({
      TableName: TABLE_NAME,
      Item: {
        PK: 'RELEASE#r-1',
        SK: '#RELEASE',
        release_id: 'r-1',
        batch_id: '000003',
        released_at: 9,
        last_session_number: 7,
        origin: 'api',
      },
    });
  });

  test('listBatchEntries: queries GSI1 after a number for ids and numbers only, following LastEvaluatedKey with what is left of the limit', async () => {
    const entry = (n: number) => ({ session_id: `s-${n}`, PK: `SESSION#s-${n}`, SK: '#SESSION', GSI1PK: 'BATCH#000003', GSI1SK: n });
    const lastKey = { PK: 'SESSION#s-6', SK: '#SESSION', GSI1PK: 'BATCH#000003', GSI1SK: 6 };
    ddb.on(QueryCommand).resolvesOnce({ Items: [entry(6)], LastEvaluatedKey: lastKey }).resolvesOnce({ Items: [entry(9), entry(11)] });
    const entries = await store.listBatchEntries('000003', 5, 3);
    expect(entries).toEqual([
      { sessionId: 's-6', assignment: { batchId: '000003', sessionNumber: 6 } },
      { sessionId: 's-9', assignment: { batchId: '000003', sessionNumber: 9 } },
      { sessionId: 's-11', assignment: { batchId: '000003', sessionNumber: 11 } },
    ]);
    const [first, second] = ddb.commandCalls(QueryCommand).map((c) => c.args[0].input);
    const query = {
      TableName: TABLE_NAME,
      IndexName: 'GSI1',
      KeyConditionExpression: '#pk = :pk AND #sk > :after',
      ProjectionExpression: '#id, #sk',
      ExpressionAttributeNames: { '#pk': 'GSI1PK', '#sk': 'GSI1SK', '#id': 'session_id' },
      ExpressionAttributeValues: { ':pk': 'BATCH#000003', ':after': 5 },
    };
    expect(first).toEqual({ ...query, Limit: 3 });
    expect(first).not.toHaveProperty('ConsistentRead', true); // a GSI cannot be read consistently
    expect(second).toEqual({ ...query, Limit: 2, ExclusiveStartKey: lastKey });
  });

  test('readSession: one strongly consistent Query of the session partition, the item first, then the oldest events', async () => {
    const scheduled = { ...sessionItem(session), ...assignmentAttributes('000003', 7, 1) };
    ddb.on(QueryCommand).resolves({ Items: [scheduled, eventRow] });
    await expect(store.readSession('s-1', 100)).resolves.toEqual({
      session: { ...session, assignment: { batchId: '000003', sessionNumber: 7 } },
      events: [{ event_id: 'e-1', session_id: 's-1', object_id: 'p1', event_type: 'click', created_at: 5 }],
    });
    const input = ddb.commandCalls(QueryCommand)[0]!.args[0].input;
    expect(input).toEqual({
      TableName: TABLE_NAME,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': 'PK' },
      ExpressionAttributeValues: { ':pk': 'SESSION#s-1' },
      ConsistentRead: true,
      // The session item, then at most 100 events.
      Limit: 101,
    });
    expect(input.ScanIndexForward).not.toBe(false);
  });

  test('readSession of a partition without its session item: events only, no session', async () => {
    ddb.on(QueryCommand).resolves({ Items: [eventRow] });
    await expect(store.readSession('s-1', 0)).resolves.toEqual({ session: undefined, events: [] });
    expect(ddb.commandCalls(QueryCommand)[0]!.args[0].input.Limit).toBe(1);
  });

  test('a throttled call past the SDK retries is ServiceUnavailable; a failed condition outside a conditional write is not', async () => {
    ddb.on(GetCommand).rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));
    await expect(store.readPointer()).rejects.toBeInstanceOf(ServiceUnavailable);
    ddb.on(UpdateCommand).rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));
    await expect(store.takeNumber()).rejects.toBeInstanceOf(ServiceUnavailable);
  });
});

describe('SessionWriter requests', () => {
  test('upsertSession sets the wire fields, removes absent optional ones and never touches the assignment', async () => {
    ddb.on(UpdateCommand).resolves({});
    await new SessionWriter(db, TABLE_NAME).upsertSession({ ...session, user_id: 'u-1' });
    const input = ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(input.Key).toEqual({ PK: 'SESSION#s-1', SK: '#SESSION' });
    expect(input.ConditionExpression).toBeUndefined();
    const names = Object.values(input.ExpressionAttributeNames ?? {});
    expect(names).toEqual(expect.arrayContaining(['session_id', 'search_query', 'user_id', 'search_meta']));
    for (const assigned of ['batch_id', 'session_number', 'scheduled_at', 'GSI1PK', 'GSI1SK']) expect(names).not.toContain(assigned);
    expect(input.UpdateExpression).toMatch(/ REMOVE /);
  });

  test('upsertSession ifUnscheduled: the same write, conditional on no assignment; a failed condition is false, not an error', async () => {
    ddb.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'no', $metadata: {} }));
    await expect(new SessionWriter(db, TABLE_NAME).upsertSession(session, { ifUnscheduled: true })).resolves.toBe(false);
    const input = ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(input.ConditionExpression).toBe('attribute_not_exists(#batch)');
    expect(input.ExpressionAttributeNames?.['#batch']).toBe('batch_id');
    ddb.on(UpdateCommand).resolves({});
    await expect(new SessionWriter(db, TABLE_NAME).upsertSession(session, { ifUnscheduled: true })).resolves.toBe(true);
  });

  test('readImportState: the pointer and the sessions’ assignments, strongly consistent, 100 keys a request, unprocessed keys retried', async () => {
    ddb.on(GetCommand).resolves({ Item: releasedRow });
    const ids = Array.from({ length: 150 }, (_, i) => `s-${i}`);
    const assigned = { PK: 'SESSION#s-7', SK: '#SESSION', session_id: 's-7', batch_id: '000003', session_number: 4 };
    ddb
      .on(BatchGetCommand)
      .resolvesOnce({ Responses: { [TABLE_NAME]: [assigned, { PK: 'SESSION#s-8', SK: '#SESSION', session_id: 's-8' }] }, UnprocessedKeys: { [TABLE_NAME]: { Keys: [sessionKey('s-9')] } } })
      .resolves({ Responses: { [TABLE_NAME]: [] } });
    const state = await new SessionWriter(db, TABLE_NAME).readImportState(ids);
    expect(state).toEqual({ assignments: new Map([['s-7', { batchId: '000003', sessionNumber: 4 }]]), pointer: toPointer(releasedRow) });
    expect(ddb.commandCalls(GetCommand)[0]!.args[0].input).toEqual({ TableName: TABLE_NAME, Key: POINTER_KEY, ConsistentRead: true });
    const requests = ddb.commandCalls(BatchGetCommand).map((c) => c.args[0].input.RequestItems![TABLE_NAME]!);
    expect(requests.map((r) => r.Keys!.length).sort((a, b) => a - b)).toEqual([1, 50, 100]);
    for (const request of requests) {
      expect(request).toMatchObject({ ConsistentRead: true, ProjectionExpression: '#pk, #sk, session_id, batch_id, session_number' });
    }
  });
});
