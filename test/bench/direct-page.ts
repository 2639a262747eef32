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
        ExpressionAttributeNames: { '#pk': 'GSI1PK', '#sk': 'GSI1SK' },
        ExpressionAttributeValues: { ':pk': `BATCH#${page.batchId}`, ':after': page.afterNumber },
        Limit: page.limit,
      }),
    ),
  ]);
  const items = sessions.Items ?? [];
  const events = await Promise.all(
    items.map((session) =>
      db.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
          ExpressionAttributeNames: { '#pk': 'PK', '#sk': 'SK' },
          ExpressionAttributeValues: { ':pk': session.PK, ':prefix': 'EVENT#' },
          Limit: page.eventsLimit,
        }),
      ),
    ),
  );
  return {
    sessions: items.length,
    events: events.reduce((sum, e) => sum + (e.Items?.length ?? 0), 0),
    lastNumber: items.length ? (items.at(-1)!.GSI1SK as number) : null,
  };
}
