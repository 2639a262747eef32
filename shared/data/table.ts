/**
 * The single table's schema, defined once: the CDK stack and the local runtime
 * both build their table from this, so the two cannot drift.
 */
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
