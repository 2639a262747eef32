/**
 * What the proxy needs to know about a table: its key, and each global
 * secondary index's key and projection, read with DescribeTable once per table.
 */
import stableStringify from 'safe-stable-stringify';
import type { AttributeValue, Item } from './wire';

export interface KeySchema {
  partitionKey: string;
  sortKey?: string;
}

export interface IndexSchema extends KeySchema {
  name: string;
  arn: string;
  projection: { type: 'ALL' | 'KEYS_ONLY' | 'INCLUDE'; nonKeyAttributes: readonly string[] };
}

export interface TableSchema extends KeySchema {
  name: string;
  arn: string;
  indexes: readonly IndexSchema[];
}

interface KeySchemaElement {
  AttributeName: string;
  KeyType: 'HASH' | 'RANGE';
}

/** The fields of a DescribeTable answer read here. */
export interface TableDescription {
  Table: {
    TableName: string;
    TableArn: string;
    KeySchema: KeySchemaElement[];
    GlobalSecondaryIndexes?: Array<{
      IndexName: string;
      IndexArn: string;
      KeySchema: KeySchemaElement[];
      Projection: { ProjectionType: IndexSchema['projection']['type']; NonKeyAttributes?: string[] };
    }>;
  };
}

function keySchema(elements: readonly KeySchemaElement[]): KeySchema {
  const partitionKey = elements.find((e) => e.KeyType === 'HASH')?.AttributeName;
  if (!partitionKey) throw new Error('A key schema without a partition key');
  const sortKey = elements.find((e) => e.KeyType === 'RANGE')?.AttributeName;
  return sortKey ? { partitionKey, sortKey } : { partitionKey };
}

export function toTableSchema({ Table: table }: TableDescription): TableSchema {
  return {
    name: table.TableName,
    arn: table.TableArn,
    ...keySchema(table.KeySchema),
    indexes: (table.GlobalSecondaryIndexes ?? []).map((index) => ({
      name: index.IndexName,
      arn: index.IndexArn,
      ...keySchema(index.KeySchema),
      projection: {
        type: index.Projection.ProjectionType,
        nonKeyAttributes: index.Projection.NonKeyAttributes ?? [],
      },
    })),
  };
}

/** One DescribeTable per table; forgotten when the table is created, changed or deleted through the proxy. */
export class SchemaCache {
  private readonly schemas = new Map<string, Promise<TableSchema | undefined>>();

  constructor(private readonly describe: (tableName: string) => Promise<TableDescription | undefined>) {}

  get(tableName: string): Promise<TableSchema | undefined> {
    let schema = this.schemas.get(tableName);
    if (!schema) {
      schema = this.describe(tableName).then((description) => description && toTableSchema(description));
      this.schemas.set(tableName, schema);
      // A table that does not exist yet may be created directly on the store: ask again next time.
      schema.then((found) => found ?? this.schemas.delete(tableName), () => this.schemas.delete(tableName));
    }
    return schema;
  }

  forget(tableName: string): void {
    this.schemas.delete(tableName);
  }
}

export const keyAttributes = (schema: KeySchema): string[] =>
  schema.sortKey ? [schema.partitionKey, schema.sortKey] : [schema.partitionKey];

/** The item's key attributes under `schema` (a table's or an index's), or undefined if it lacks one. */
export function keyOf(schema: KeySchema, item: Item): Item | undefined {
  const key: Item = {};
  for (const name of keyAttributes(schema)) {
    const value = item[name];
    if (!value) return undefined;
    key[name] = value;
  }
  return key;
}

/** A stable text form of a key, to tell items apart. */
export const keyId = (tableName: string, key: Item): string => `${tableName}\u0000${stableStringify(key)}`;

/** A key attribute's value as text: S and N as written, B in base64. */
export function scalarText(value: AttributeValue | undefined): string {
  if (value && 'S' in value) return value.S;
  if (value && 'N' in value) return value.N;
  if (value && 'B' in value) return value.B;
  throw new Error(`Not a key value: ${JSON.stringify(value)}`);
}
