/**
 * How many sessions a table holds, for the local server's startup banner: a
 * paginated COUNT scan, so it reads the whole table. Not for the handlers.
 */
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { sessionSortKey } from './keys';
import { TABLE } from './table';

export async function countSessions(db: DynamoDBDocumentClient, tableName: string): Promise<number> {
  let count = 0;
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new ScanCommand({
        TableName: tableName,
        Select: 'COUNT',
        FilterExpression: '#sk = :session',
        ExpressionAttributeNames: { '#sk': TABLE.sortKey },
        ExpressionAttributeValues: { ':session': sessionSortKey },
        ExclusiveStartKey,
      }),
    );
    count += page.Count ?? 0;
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return count;
}
