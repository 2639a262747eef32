/**
 * The exact DynamoDB requests SessionWriter sends for imports: upserts that never touch an
 * assignment, batched event writes, and the state an import reads before writing.
 */
import { BatchGetCommand, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { toPointer } from '../../shared/data/items';
import { assignmentKey, sessionKey } from '../../shared/data/keys';
import { SessionWriter } from '../../shared/data/session-writer';
import { TABLE_NAME, POINTER_KEY, db, ddb, session, releasedRow, readableExpressions } from './store-fixtures';

beforeEach(() => ddb.reset());

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

  test('readImportState: the pointer and each session’s assignment (its own item, or the counter layout’s on the session item), strongly consistent, 100 keys a request, unprocessed keys retried', async () => {
    ddb.on(GetCommand).resolves({ Item: releasedRow });
    const ids = Array.from({ length: 75 }, (_, i) => `s-${i}`);
    const own = { PK: 'SESSION#s-7', SK: '#ASSIGNMENT', session_id: 's-7', batch_id: '000003', session_number: 8_200 };
    const legacy = { PK: 'SESSION#s-8', SK: '#SESSION', session_id: 's-8', batch_id: '000002', session_number: 4 };
    const unscheduled = { PK: 'SESSION#s-9', SK: '#SESSION', session_id: 's-9' };
    ddb
      .on(BatchGetCommand)
      .resolvesOnce({ Responses: { [TABLE_NAME]: [own, legacy, unscheduled] }, UnprocessedKeys: { [TABLE_NAME]: { Keys: [sessionKey('s-10')] } } })
      .resolves({ Responses: { [TABLE_NAME]: [] } });
    const state = await new SessionWriter(db, TABLE_NAME).readImportState(ids);
    expect(state).toEqual({
      assignments: new Map([
        ['s-7', { batchId: '000003', sessionNumber: 8_200 }],
        ['s-8', { batchId: '000002', sessionNumber: 4 }],
      ]),
      pointer: toPointer(releasedRow),
    });
    expect(ddb.commandCalls(GetCommand)[0]!.args[0].input).toEqual({ TableName: TABLE_NAME, Key: POINTER_KEY, ConsistentRead: true });
    const requests = ddb.commandCalls(BatchGetCommand).map((c) => c.args[0].input.RequestItems![TABLE_NAME]!);
    // Two keys a session: 150 keys, then the one left unprocessed.
    expect(requests.map((r) => r.Keys!.length).sort((a, b) => a - b)).toEqual([1, 50, 100]);
    expect(requests[0]!.Keys!.slice(0, 2)).toEqual([assignmentKey('s-0'), sessionKey('s-0')]);
    for (const request of requests) {
      expect(request.ConsistentRead).toBe(true);
      expect(readableExpressions({ ConditionExpression: request.ProjectionExpression, ExpressionAttributeNames: request.ExpressionAttributeNames }).condition).toBe(
        'PK, SK, session_id, batch_id, session_number',
      );
    }
  });
});
