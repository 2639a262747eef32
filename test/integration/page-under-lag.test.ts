/**
 * Pages under index lag: a batch paged the moment its release returns (no
 * settle window at all) serves every session scheduled into it, while index
 * entries written at the same time are still invisible. Pages list a batch
 * from its shards' membership partitions, read strongly consistent, so no
 * index lag can hide a session.
 */
import '../support/through-realism';
import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../../shared/data/store-from-env';
import { TABLE } from '../../shared/data/table';
import { walkBatch } from '../support/batch-walk';
import { createTestTable, releaseOverHttp, scheduleOverHttp, seedSession, uniqueId } from '../support/handlers';

beforeAll(createTestTable);

test('an announced batch, paged at once, misses no session, while the index still hides a fresh entry', async () => {
  const ids = await Promise.all(Array.from({ length: 30 }, () => seedSession()));
  const answers = await Promise.all(ids.map((id) => scheduleOverHttp(id)));
  for (const answer of answers) expect(answer.body.status).toBe('scheduled');
  const batchId = answers[0]!.body.batch_id;

  const release = await releaseOverHttp(uniqueId('r'));
  expect(release.body.batch_id).toBe(batchId);

  // The lag is on: an entry written into GSI1 as the batch is announced is not listed by an index Query for a while.
  const probe = `BATCH#${uniqueId('lag-probe')}`;
  await documentClient.send(
    new UpdateCommand({
      TableName: process.env.TABLE_NAME,
      Key: { PK: `SESSION#${ids[0]}`, SK: '#SESSION' },
      UpdateExpression: 'SET #pk = :pk, #sk = :sk',
      ExpressionAttributeNames: { '#pk': TABLE.gsi1.partitionKey, '#sk': TABLE.gsi1.sortKey },
      ExpressionAttributeValues: { ':pk': probe, ':sk': 1 },
    }),
  );
  const { Items = [] } = await documentClient.send(
    new QueryCommand({
      TableName: process.env.TABLE_NAME,
      IndexName: TABLE.gsi1.indexName,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': TABLE.gsi1.partitionKey },
      ExpressionAttributeValues: { ':pk': probe },
    }),
  );
  expect(Items).toEqual([]);
  const walked = await walkBatch(batchId, 7);
  expect(walked.map((s) => s.session_id).sort()).toEqual([...ids].sort());
  expect(walked.map((s) => s.session_number)).toEqual(answers.map((a) => a.body.session_number).sort((x, y) => x - y));
});
