/**
 * The rules under the DynamoDB realism proxy, one by one: item sizes, capacity
 * units, index entries by projection, the token bucket, and the expressions the
 * proxy reads. The proxy itself is checked end to end in
 * test/integration/dynamo-realism.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { indexChanges, indexEntry, readUnits, writeCharges, writeUnits } from '../support/dynamo-realism/capacity';
import { queryPartitionValue, readingEverything, valueAfterUpdate } from '../support/dynamo-realism/expressions';
import { itemSize, numberSize, valueSize } from '../support/dynamo-realism/item-size';
import type { IndexSchema, TableSchema } from '../support/dynamo-realism/table-schema';
import { ThrottleBuckets } from '../support/dynamo-realism/throttle';
import type { AttributeValue, Item } from '../support/dynamo-realism/wire';

describe('item sizes (DynamoDB developer guide, "DynamoDB item sizes and formats")', () => {
  test.each([
    ['0', 1],
    ['7', 2],
    ['12', 2],
    ['123', 3],
    ['-123.45', 4],
    ['1000', 2],
    ['0.001', 2],
    ['1.5E+10', 2],
    ['12345678901234567890123456789012345678', 20],
  ])('the number %s takes %i bytes: 1 per two significant digits, plus 1', (wire, bytes) => {
    expect(numberSize(wire)).toBe(bytes);
  });

  test.each<[string, AttributeValue, number]>([
    ['a string: its UTF-8 bytes', { S: 'héllo' }, 6],
    ['binary: its raw bytes, not the base64', { B: Buffer.from([0, 1, 2]).toString('base64') }, 3],
    ['a Boolean', { BOOL: false }, 1],
    ['a null', { NULL: true }, 1],
    ['a list: 3 bytes, plus 1 per element', { L: [{ S: 'ab' }, { N: '1' }] }, 3 + (1 + 2) + (1 + 2)],
    ['an empty map', { M: {} }, 3],
    ['a map: its keys count like attribute names', { M: { key: { S: 'xy' } } }, 3 + 1 + 3 + 2],
    ['a string set: its elements', { SS: ['a', 'bc'] }, 3],
    ['a number set: its elements', { NS: ['1', '22'] }, 4],
    ['a binary set: its elements', { BS: [Buffer.from('abcd').toString('base64')] }, 4],
  ])('%s', (_, value, bytes) => {
    expect(valueSize(value)).toBe(bytes);
  });

  test('an item is its attribute names plus their values; no item is 0', () => {
    expect(itemSize({ PK: { S: 'k' }, count: { N: '42' }, tags: { L: [{ S: 'x' }] } })).toBe(2 + 1 + 5 + 2 + 4 + 3 + 1 + 1);
    expect(itemSize(undefined)).toBe(0);
  });
});

describe('capacity units (DynamoDB developer guide, "DynamoDB read and write operations")', () => {
  test.each([
    [0, 1],
    [1, 1],
    [1024, 1],
    [1025, 2],
    [4813, 5],
  ])('writing %i bytes costs %i WCU', (bytes, units) => {
    expect(writeUnits(bytes)).toBe(units);
  });

  test.each([
    [0, true, 1],
    [0, false, 0.5],
    [4096, true, 1],
    [5120, true, 2],
    [5120, false, 1],
    [8193, true, 3],
  ])('reading %i bytes (strongly consistent: %s) costs %d RCU', (bytes, consistent, units) => {
    expect(readUnits(bytes, consistent)).toBe(units);
  });
});

describe('index entries and what a write costs on them', () => {
  const index = (name: string, projection: IndexSchema['projection']): IndexSchema => ({
    name,
    arn: `arn:aws:dynamodb:local:0:table/t/index/${name}`,
    partitionKey: 'owner',
    sortKey: 'rank',
    projection,
  });
  const schema: TableSchema = {
    name: 't',
    arn: 'arn:aws:dynamodb:local:0:table/t',
    partitionKey: 'PK',
    sortKey: 'SK',
    indexes: [
      index('all', { type: 'ALL', nonKeyAttributes: [] }),
      index('keys', { type: 'KEYS_ONLY', nonKeyAttributes: [] }),
      index('include', { type: 'INCLUDE', nonKeyAttributes: ['title'] }),
    ],
  };
  const [all, keys, include] = schema.indexes as [IndexSchema, IndexSchema, IndexSchema];
  const key = { PK: { S: 'p' }, SK: { S: 's' } };
  const item: Item = { ...key, owner: { S: 'o' }, rank: { N: '1' }, title: { S: 't' }, body: { S: 'b'.repeat(2000) } };

  test('an entry holds the table key, the index key and what the projection names; an item without the index key has none', () => {
    expect(indexEntry(schema, all, item)).toEqual(item);
    expect(indexEntry(schema, keys, item)).toEqual({ ...key, owner: item.owner, rank: item.rank });
    expect(indexEntry(schema, include, item)).toEqual({ ...key, owner: item.owner, rank: item.rank, title: item.title });
    const { rank: _, ...unranked } = item;
    expect(indexEntry(schema, all, unranked)).toBeUndefined();
  });

  test('adding, changing, moving and removing entries', () => {
    const kinds = (before: Item | undefined, after: Item | undefined) =>
      indexChanges(schema, before, after).map((change) => `${change.index.name} ${change.kind}`);
    expect(kinds(undefined, item)).toEqual(['all added', 'keys added', 'include added']);
    expect(kinds(item, { ...item, body: { S: 'other' } })).toEqual(['all updated']);
    expect(kinds(item, { ...item, title: { S: 'new' } })).toEqual(['all updated', 'include updated']);
    expect(kinds(item, { ...item, owner: { S: 'o2' } })).toEqual(['all moved', 'keys moved', 'include moved']);
    expect(kinds(item, undefined)).toEqual(['all removed', 'keys removed', 'include removed']);
    expect(kinds(item, item)).toEqual([]);
  });

  test('a moved entry costs a removal on the old key and an addition on the new one; a failed condition costs only the table', () => {
    const moved = writeCharges(schema, key, item, { ...item, owner: { S: 'o2' } });
    expect(moved.filter((charge) => charge.index === 'all').map(({ partitionKey, units }) => [partitionKey, units])).toEqual([
      ['o', 3],
      ['o2', 3],
    ]);
    expect(writeCharges(schema, key, item, item)).toEqual([{ table: 't', partitionKey: 'p', kind: 'write', units: 2 }]);
  });
});

describe('a token bucket per key', () => {
  test('holds one second at the scaled rate, refills continuously, admits while above zero and may go below', () => {
    let now = 0;
    const buckets = new ThrottleBuckets(1 / 100, () => now);
    const key = { table: 't', partitionKey: 'k' };
    const charge = (units: number) => buckets.debit([{ ...key, kind: 'write', units }]);
    expect(buckets.empty('write', [key])).toEqual([]);
    charge(15);
    expect(buckets.empty('write', [key])).toEqual([key]);
    now = 400;
    expect(buckets.empty('write', [key])).toEqual([key]);
    now = 600;
    expect(buckets.empty('write', [key])).toEqual([]);
    // Ten idle seconds refill one second's worth, not ten: 10 units, then empty.
    now = 10_600;
    charge(10);
    expect(buckets.empty('write', [key])).toEqual([key]);
    // Reads have their own bucket, at three times the rate.
    buckets.debit([{ ...key, kind: 'read', units: 29 }]);
    expect(buckets.empty('read', [key])).toEqual([]);
  });
});

describe('expressions the proxy reads', () => {
  test('the partition key value a Query reads, in every form of key condition', () => {
    const values = { ':pk': { S: 'a' }, ':sk': { N: '3' } };
    expect(queryPartitionValue({ KeyConditionExpression: '#p = :pk AND #s >= :sk', ExpressionAttributeNames: { '#p': 'PK', '#s': 'SK' }, ExpressionAttributeValues: values }, 'PK')).toEqual({ S: 'a' });
    expect(queryPartitionValue({ KeyConditionExpression: '(:pk = PK)', ExpressionAttributeValues: values }, 'PK')).toEqual({ S: 'a' });
    expect(queryPartitionValue({ KeyConditions: { PK: { ComparisonOperator: 'EQ', AttributeValueList: [{ S: 'b' }] } } }, 'PK')).toEqual({ S: 'b' });
    expect(queryPartitionValue({ KeyConditionExpression: 'SK = :sk', ExpressionAttributeValues: values }, 'PK')).toBeUndefined();
  });

  test('what an update leaves in an index key attribute', () => {
    const before: Item = { GSI1PK: { S: 'old' } };
    const update = (UpdateExpression: string) => ({
      UpdateExpression,
      ExpressionAttributeNames: { '#k': 'GSI1PK' },
      ExpressionAttributeValues: { ':v': { S: 'new' }, ':n': { N: '1' } },
    });
    expect(valueAfterUpdate(update('SET a = :n, #k = :v'), 'GSI1PK', before)).toEqual({ S: 'new' });
    expect(valueAfterUpdate(update('SET #k = if_not_exists(#k, :v)'), 'GSI1PK', before)).toEqual({ S: 'old' });
    expect(valueAfterUpdate(update('SET #k = if_not_exists(#k, :v)'), 'GSI1PK', undefined)).toEqual({ S: 'new' });
    expect(valueAfterUpdate(update('SET a = list_append(a, :n) REMOVE b, #k'), 'GSI1PK', before)).toBeUndefined();
    expect(valueAfterUpdate(update('ADD counter :n'), 'GSI1PK', before)).toEqual({ S: 'old' });
    expect(valueAfterUpdate({ AttributeUpdates: { GSI1PK: { Action: 'PUT', Value: { S: 'put' } } } }, 'GSI1PK', before)).toEqual({ S: 'put' });
  });

  test('a read without its filter, projection and count keeps only the names and values its key condition uses', () => {
    expect(
      readingEverything({
        TableName: 't',
        KeyConditionExpression: '#pk = :pk',
        FilterExpression: '#f = :f',
        ProjectionExpression: '#f',
        Select: 'SPECIFIC_ATTRIBUTES',
        ExpressionAttributeNames: { '#pk': 'PK', '#f': 'flag' },
        ExpressionAttributeValues: { ':pk': { S: 'a' }, ':f': { BOOL: true } },
        Limit: 5,
      }),
    ).toEqual({ TableName: 't', KeyConditionExpression: '#pk = :pk', ExpressionAttributeNames: { '#pk': 'PK' }, ExpressionAttributeValues: { ':pk': { S: 'a' } }, Limit: 5 });
    expect(readingEverything({ TableName: 't', Select: 'COUNT', FilterExpression: 'a = :a', ExpressionAttributeValues: { ':a': { N: '1' } } })).toEqual({ TableName: 't' });
  });
});

test('nothing that ships imports the realism layer: it lives in test/support only', () => {
  const root = join(__dirname, '../..');
  const sources = (dir: string): string[] =>
    readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
    );
  const importers = ['functions', 'shared', 'infra'].flatMap(sources).filter((file) => readFileSync(join(root, file), 'utf8').includes('dynamo-realism'));
  expect(importers).toEqual([]);
});
