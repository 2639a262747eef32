/**
 * A DocumentClient whose every call is answered by aws-sdk-client-mock, and
 * stored rows, for the tests that pin the data layer's exact requests.
 */
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { sessionStore, tableOf } from '../../shared/data/dynamo-store';
import { eventItem, sessionItem } from '../../shared/data/items';
import type { Session } from '../../shared/schemas';

export const TABLE_NAME = 'table-under-test';
export const POINTER_KEY = { PK: 'BATCH', SK: '#COLLECTING' };

export const db = DynamoDBDocumentClient.from(
  new DynamoDBClient({ region: 'local', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
  { marshallOptions: { removeUndefinedValues: true } },
);
export const ddb = mockClient(db);
export const store = sessionStore(tableOf(db, TABLE_NAME, { shards: 4 }));

export const conditionFailed = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });

export const session: Session = {
  session_id: 's-1',
  search_query: 'q',
  created_at: 1_700_000_000,
  search_results: [{ object_id: 'p1' }],
  is_irrelevant: false,
  is_payload_search: false,
};
export const sessionRow = { ...sessionItem(session) };
export const eventRow = eventItem({ event_id: 'e-1', session_id: 's-1', object_id: 'p1', event_type: 'click', created_at: 5 });
export const pointerRow = { ...POINTER_KEY, batch_id: '000003', batch_seq: 3, last_number: 7 };
export const releasedRow = { ...pointerRow, release_id: 'r-1', released_at: 1_700_000_100, release_origin: 'api' };


/**
 * An UpdateItem/PutItem input with its placeholders replaced by the names and
 * values they stand for, so a test states the exact expression it expects
 * without depending on how placeholders are numbered.
 */
export function readableExpressions(input: {
  UpdateExpression?: string;
  ConditionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
}) {
  const resolve = (text: string | undefined) =>
    text
      ?.replace(/#\w+/g, (name) => input.ExpressionAttributeNames?.[name] ?? name)
      .replace(/:\w+/g, (value) => JSON.stringify(input.ExpressionAttributeValues?.[value]));
  return { update: resolve(input.UpdateExpression), condition: resolve(input.ConditionExpression) };
}
