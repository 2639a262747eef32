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
  page: { batchId: string; afterNumber: number; limit: number; eventsLimit: number; shards: number },
): Promise<DirectPage> {
  // The pointer; each shard's membership partition; the batch index, for sessions scheduled before sharding.
  const shardListings = Array.from({ length: page.shards }, (_, shard) =>
    db.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: '#pk = :pk AND #sk > :after',
        ExpressionAttributeNames: { '#pk': 'PK', '#sk': 'SK' },
        ExpressionAttributeValues: {
          ':pk': `MEMBERS#${page.batchId}#${String(shard).padStart(2, '0')}`,
          ':after': String(page.afterNumber).padStart(16, '0'),
        },
        ConsistentRead: true,
        Limit: page.limit,
      }),
    ),
  );
  const indexListing = db.send(
    new QueryCommand({
      TableName: tableName,
      IndexName: 'GSI1',
      KeyConditionExpression: '#pk = :pk AND #sk > :after',
      ProjectionExpression: '#id, #sk',
      ExpressionAttributeNames: { '#pk': 'GSI1PK', '#sk': 'GSI1SK', '#id': 'session_id' },
      ExpressionAttributeValues: { ':pk': `BATCH#${page.batchId}`, ':after': page.afterNumber },
      Limit: page.limit,
    }),
  );
  const [, ...listings] = await Promise.all([
    db.send(new GetCommand({ TableName: tableName, Key: { PK: 'BATCH', SK: '#COLLECTING' }, ConsistentRead: true })),
    ...shardListings,
    indexListing,
  ]);
  const entries = listings
    .flatMap((listing) => listing.Items ?? [])
    .map((item) => ({ sessionId: item.session_id as string, number: (item.session_number ?? item.GSI1SK) as number }))
    .sort((a, b) => a.number - b.number)
    .slice(0, page.limit);
  // Each session's assignment (which confirms its membership), its item and its events, in one read.
  const reads = await Promise.all(
    entries.map((entry) =>
      db.send(
        new QueryCommand({
          TableName: tableName,
          // Up to the events: the UBI import's sources sort after them.
          KeyConditionExpression: '#pk = :pk AND #sk < :end',
          ExpressionAttributeNames: { '#pk': 'PK', '#sk': 'SK' },
          ExpressionAttributeValues: { ':pk': `SESSION#${entry.sessionId}`, ':end': 'UBI#' },
          ConsistentRead: true,
          Limit: page.eventsLimit + 2,
        }),
      ),
    ),
  );
  return {
    sessions: entries.length,
    events: reads.reduce((sum, r) => sum + Math.max(0, (r.Items?.length ?? 0) - 2), 0),
    lastNumber: entries.length ? entries.at(-1)!.number : null,
  };
}
