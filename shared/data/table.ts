/**
 * The single table's schema, defined once: the CDK stack and the local runtime
 * both build their table from this, so the two cannot drift.
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

export const TABLE = {
  partitionKey: 'PK',
  sortKey: 'SK',
  gsi1: {
    indexName: 'GSI1',
    partitionKey: 'GSI1PK',
    /** A batch's sessions sort by their session number. */
    sortKey: 'GSI1SK',
  },
} as const;

/** DynamoDB attribute types of every key attribute (S = string, N = number). */
export const KEY_ATTRIBUTE_TYPES = {
  [TABLE.partitionKey]: 'S',
  [TABLE.sortKey]: 'S',
  [TABLE.gsi1.partitionKey]: 'S',
  [TABLE.gsi1.sortKey]: 'N',
} as const;

/** The table as the SDK creates it (the local store; the stack builds the same from TABLE). */
export function createTableInput(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: Object.entries(KEY_ATTRIBUTE_TYPES).map(([AttributeName, AttributeType]) => ({
      AttributeName,
      AttributeType,
    })),
    KeySchema: [
      { AttributeName: TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: TABLE.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: TABLE.gsi1.indexName,
        KeySchema: [
          { AttributeName: TABLE.gsi1.partitionKey, KeyType: 'HASH' },
          { AttributeName: TABLE.gsi1.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
  };
}
