/**
 * The exact DynamoDB requests DynamoSessionStore sends: the conditions the invariants rest on,
 * and the reads that must be strongly consistent.
 */
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type GetCommandInput } from '@aws-sdk/lib-dynamodb';
import { assignmentAttributes, releaseItem, sessionItem, toPointer } from '../../shared/data/items';
import { releaseKey } from '../../shared/data/keys';
import { ServiceUnavailable, SessionNotFound } from '../../shared/domain/errors';
import { TABLE_NAME, POINTER_KEY, ddb, store, conditionFailed, session, sessionRow, eventRow, pointerRow, releasedRow, readableExpressions } from './store-fixtures';

beforeEach(() => ddb.reset());

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
    const input = ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(input).toMatchObject({ TableName: TABLE_NAME, Key: POINTER_KEY, ReturnValues: 'ALL_NEW' });
    expect(readableExpressions(input)).toEqual({
      update: 'SET batch_id = if_not_exists(batch_id, "000001"), batch_seq = if_not_exists(batch_seq, 1) ADD last_number 1',
      condition: 'attribute_not_exists(release_id)',
    });
  });

  test('takeNumber: a pointer that moved on between the write and the read is "moved", for the caller to try again', async () => {
    ddb.on(UpdateCommand).rejects(conditionFailed());
    ddb.on(GetCommand).resolves({ Item: { ...pointerRow, batch_seq: 4, batch_id: '000004' } });
    await expect(store.takeNumber()).resolves.toEqual({ moved: true });
    expect(ddb.calls()).toHaveLength(2);
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
    const input = ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(input).toMatchObject({ TableName: TABLE_NAME, Key: POINTER_KEY });
    expect(readableExpressions(input)).toEqual({
      update: 'SET batch_id = "000004", batch_seq = 4, last_number = 1 REMOVE release_id, released_at, release_origin',
      condition: 'release_id = "r-1" AND batch_seq = 3',
    });
  });

  test('assignSession: one conditional update that only an existing, unassigned session passes', async () => {
    ddb.on(UpdateCommand).resolves({});
    await expect(store.assignSession('s-1', { batchId: '000003', sessionNumber: 8 }, 1_700_000_200)).resolves.toEqual({
      batchId: '000003',
      sessionNumber: 8,
    });
    expect(ddb.calls()).toHaveLength(1);
    const input = ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(input).toMatchObject({ TableName: TABLE_NAME, Key: { PK: 'SESSION#s-1', SK: '#SESSION' } });
    expect(readableExpressions(input)).toEqual({
      update: 'SET batch_id = "000003", session_number = 8, scheduled_at = 1700000200, GSI1PK = "BATCH#000003", GSI1SK = 8',
      condition: 'attribute_exists(PK) AND attribute_not_exists(batch_id)',
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
    const input = ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(input).toMatchObject({ TableName: TABLE_NAME, Key: POINTER_KEY, ReturnValues: 'ALL_NEW' });
    expect(readableExpressions(input)).toEqual({
      update: 'SET release_id = "r-1", released_at = 1700000100, release_origin = "api"',
      condition: 'batch_seq = 3 AND attribute_not_exists(release_id)',
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
