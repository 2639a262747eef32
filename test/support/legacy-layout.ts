/**
 * The counter layout of the versions before sharding, written as those
 * versions wrote it (shared/data/dynamo-store.ts up to commit f2e5693): one
 * counter on the collecting pointer hands out 1, 2, 3…; the assignment is set
 * on the session item itself, which lists it in GSI1 under `BATCH#<batch_id>`.
 *
 * Tests use it to make a table as an upgrade finds it; the bench replays its
 * first schedule through the realism proxy to report that layout's ceiling
 * beside today's, in the same run. Only the requests are kept, not the
 * earlier version's error handling: callers give it eligible sessions.
 */
import { PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { expression } from '../../shared/data/expressions';
import { legacyAssignmentAttributes, POINTER, toPointer } from '../../shared/data/items';
import { collectingPointerKey, releaseKey, sessionKey, sessionPartition } from '../../shared/data/keys';
import { TABLE } from '../../shared/data/table';
import { batchIdOf, type Assignment } from '../../shared/domain/model';

/**
 * A first schedule as the counter layout sent it, in its three rounds: the
 * session's partition (Limit 2: exists? has events?), the counter, then the
 * assignment on the session item. Undefined when the session already had one.
 */
export async function legacySchedule(
  db: DynamoDBDocumentClient,
  tableName: string,
  sessionId: string,
  scheduledAt: number,
): Promise<Assignment | undefined> {
  await db.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': TABLE.partitionKey },
      ExpressionAttributeValues: { ':pk': sessionPartition(sessionId) },
      ConsistentRead: true,
      Limit: 2,
    }),
  );
  const take = expression()
    .setIfMissing({ [POINTER.batchId]: batchIdOf(1), [POINTER.batchSeq]: 1 })
    .add(POINTER.lastNumber, 1)
    .ifNotExists(POINTER.releaseId);
  const { Attributes } = await db.send(
    new UpdateCommand({ TableName: tableName, Key: collectingPointerKey(), ...take.build(), ReturnValues: 'ALL_NEW' }),
  );
  const pointer = toPointer(Attributes!);
  const assignment = { batchId: pointer.batchId, sessionNumber: pointer.lastNumber! };
  const assign = expression()
    .set(legacyAssignmentAttributes(assignment.batchId, assignment.sessionNumber, scheduledAt))
    .ifExists(TABLE.partitionKey)
    .ifNotExists('batch_id');
  try {
    await db.send(new UpdateCommand({ TableName: tableName, Key: sessionKey(sessionId), ...assign.build() }));
    return assignment;
  } catch (error) {
    if ((error as Error).name === 'ConditionalCheckFailedException') return undefined;
    throw error;
  }
}

/**
 * A release as the counter layout made it before batch records: the pointer
 * fenced, the release record with `last_session_number`, then (as its
 * roll-forward did) the next batch opened on the pointer with its counter at 0.
 */
export async function legacyReleaseAndOpenNext(
  db: DynamoDBDocumentClient,
  tableName: string,
  releaseId: string,
  releasedAt: number,
): Promise<{ batch_id: string; last_session_number: number }> {
  const fence = expression()
    .set({ [POINTER.releaseId]: releaseId, [POINTER.releasedAt]: releasedAt })
    .ifNotExists(POINTER.releaseId);
  const { Attributes } = await db.send(
    new UpdateCommand({ TableName: tableName, Key: collectingPointerKey(), ...fence.build(), ReturnValues: 'ALL_NEW' }),
  );
  const pointer = toPointer(Attributes!);
  const release = { release_id: releaseId, batch_id: pointer.batchId, released_at: releasedAt, last_session_number: pointer.lastNumber! };
  await db.send(new PutCommand({ TableName: tableName, Item: { ...releaseKey(releaseId), ...release } }));
  const open = expression()
    .set({ [POINTER.batchSeq]: pointer.batchSeq + 1, [POINTER.batchId]: batchIdOf(pointer.batchSeq + 1), [POINTER.lastNumber]: 0 })
    .remove(POINTER.releaseId, POINTER.releasedAt);
  await db.send(new UpdateCommand({ TableName: tableName, Key: collectingPointerKey(), ...open.build() }));
  return release;
}

