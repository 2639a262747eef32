/**
 * The floor for a page: the DynamoDB requests the store sends for one page of
 * a batch, written plainly with the DocumentClient and nothing else — no
 * middy, no validation, no mapping, no response body. The benchmark checks
 * that these are the very requests the handler sends (see sameRequests).
 */
import { GetCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface DirectPage {
  sessions: number;
  events: number;
  /** The last session number returned, null when none: where the next page starts. */
  lastNumber: number | null;
}

export async function readPageDirect(
  db: DynamoDBDocumentClient,
  tableName: string,
  page: { batchId: string; afterNumber: number; limit: number; eventsLimit: number },
): Promise<DirectPage> {
  const [, sessions] = await Promise.all([
    db.send(new GetCommand({ TableName: tableName, Key: { PK: 'BATCH', SK: '#COLLECTING' }, ConsistentRead: true })),
    db.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: 'GSI1',
        KeyConditionExpression: '#pk = :pk AND #sk > :after',
        ProjectionExpression: '#id, #sk',
        ExpressionAttributeNames: { '#pk': 'GSI1PK', '#sk': 'GSI1SK', '#id': 'session_id' },
        ExpressionAttributeValues: { ':pk': `BATCH#${page.batchId}`, ':after': page.afterNumber },
        Limit: page.limit,
      }),
    ),
  ]);
  const entries = sessions.Items ?? [];
  // Each session's own item (which confirms its index entry) and its events, in one read.
  const reads = await Promise.all(
    entries.map((entry) =>
      db.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': 'PK' },
          ExpressionAttributeValues: { ':pk': `SESSION#${entry.session_id}` },
          ConsistentRead: true,
          Limit: page.eventsLimit + 1,
        }),
      ),
    ),
  );
  return {
    sessions: entries.length,
    events: reads.reduce((sum, r) => sum + Math.max(0, (r.Items?.length ?? 0) - 1), 0),
    lastNumber: entries.length ? (entries.at(-1)!.GSI1SK as number) : null,
  };
}
