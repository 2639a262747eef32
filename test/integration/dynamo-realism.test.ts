/**
 * The DynamoDB realism proxy (test/support/dynamo-realism) held to DynamoDB's
 * published figures, through real SDK clients pointed at it: what a read or a
 * write costs and on which key, throttling the SDK retries, index lag and
 * UnprocessedItems. Item sizes are counted by hand in each test: a string's
 * size is its length here (ASCII), plus its attribute name's.
 */
import { CreateTableCommand, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { ensureTable } from '../../infra/local/local-store';
import { createDocumentClient, createDynamoClient } from '../../shared/data/client';
import { itemBytes } from '../../shared/data/item-limits';
import { sessionItem } from '../../shared/data/items';
import { SessionWriter } from '../../shared/data/session-writer';
import { TABLE } from '../../shared/data/table';
import { shardOf } from '../../shared/domain/numbering';
import { startRealismProxy, type RealismProxy } from '../support/dynamo-realism/proxy';
import { makeEvent, makeSession, uniqueId } from '../support/fixtures';

const dynalite = process.env.DYNAMODB_ENDPOINT!;
const tableName = process.env.TABLE_NAME!;
const KB = 1024;
/** 4.7 KB, in whole bytes. */
const KB_4_7 = Math.ceil(4.7 * KB);

let proxy: RealismProxy;
/** Through the proxy. */
let db: DynamoDBDocumentClient;
/** Straight to dynalite: to look at what was stored without being metered. */
let direct: DynamoDBDocumentClient;
/** Attempts the SDK sent through `db`, retries included (counted inside its retry loop). */
let attempts = 0;

beforeAll(async () => {
  await ensureTable(dynalite, tableName);
  proxy = await startRealismProxy({ target: dynalite });
  db = createDocumentClient({ endpoint: proxy.endpoint });
  direct = createDocumentClient({ endpoint: dynalite });
  db.middlewareStack.add(
    (next) => async (args) => {
      attempts += 1;
      return next(args);
    },
    // The SDK's retry middleware is finalizeRequest/high: low priority runs once per attempt.
    { step: 'finalizeRequest', priority: 'low', name: 'countAttempts' },
  );
});

afterAll(async () => {
  db.destroy();
  direct.destroy();
  await proxy.close();
});

beforeEach(() => {
  proxy.setOptions({ throttle: undefined, indexLagMs: 0, unprocessedFraction: 0, seed: 1 });
  proxy.meter.reset();
  attempts = 0;
});

/** An item of exactly `bytes` bytes: PK, SK and `extra` (all strings), padded with a string attribute `filler`. */
function itemOfSize(pk: string, bytes: number, extra: Record<string, string> = {}, sk = '#') {
  const strings = { PK: pk, SK: sk, ...extra };
  const used = Object.entries(strings).reduce((sum, [name, value]) => sum + name.length + value.length, 0) + 'filler'.length;
  if (!Number.isInteger(bytes) || used > bytes) throw new Error(`Cannot make an item of ${bytes} bytes from ${JSON.stringify(strings)}`);
  return { ...strings, filler: 'x'.repeat(bytes - used) };
}

const table = (partitionKey: string) => ({ table: tableName, partitionKey });
const onIndex = (partitionKey: string) => ({ table: tableName, index: TABLE.gsi1.indexName, partitionKey });
const wcu = (partitionKey: string) => proxy.meter.usage(table(partitionKey)).wcu;
const rcu = (partitionKey: string) => proxy.meter.usage(table(partitionKey)).rcu;

describe('writes cost ⌈max(size before, size after) / 1 KB⌉ on their partition key', () => {
  test('a 4.7 KB item put costs 5 WCU', async () => {
    const pk = uniqueId('put');
    await db.send(new PutCommand({ TableName: tableName, Item: itemOfSize(pk, KB_4_7) }));
    expect(wcu(pk)).toBe(5);
    expect(proxy.meter.operations().PutItem).toMatchObject({ calls: 1, wcu: 5, rcu: 0 });
  });

  test('exactly 1 KB costs 1, one byte more costs 2, and a tiny item still costs 1', async () => {
    const [exact, over, tiny] = [uniqueId('kb'), uniqueId('kb'), uniqueId('kb')];
    await db.send(new PutCommand({ TableName: tableName, Item: itemOfSize(exact, KB) }));
    await db.send(new PutCommand({ TableName: tableName, Item: itemOfSize(over, KB + 1) }));
    await db.send(new PutCommand({ TableName: tableName, Item: { PK: tiny, SK: '#' } }));
    expect([wcu(exact), wcu(over), wcu(tiny)]).toEqual([1, 2, 1]);
  });

  test('a failed condition on a 100-byte item costs 1 WCU; on a 2.5 KB item, 3 (the existing item, not the rejected one)', async () => {
    const [small, large] = [uniqueId('cond'), uniqueId('cond')];
    await db.send(new PutCommand({ TableName: tableName, Item: itemOfSize(small, 100) }));
    await db.send(new PutCommand({ TableName: tableName, Item: itemOfSize(large, 2.5 * KB) }));
    proxy.meter.reset();

    const refusedPut = (pk: string) =>
      db.send(new PutCommand({ TableName: tableName, Item: itemOfSize(pk, 200), ConditionExpression: 'attribute_not_exists(PK)' }));
    await expect(refusedPut(small)).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    await expect(refusedPut(large)).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    expect(wcu(small)).toBe(1);
    expect(wcu(large)).toBe(3);
    // A failed condition on an item that does not exist costs the minimum.
    const absent = uniqueId('cond');
    await expect(
      db.send(new UpdateCommand({ TableName: tableName, Key: { PK: absent, SK: '#' }, UpdateExpression: 'SET a = :a', ConditionExpression: 'attribute_exists(PK)', ExpressionAttributeValues: { ':a': 'x' } })),
    ).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    expect(wcu(absent)).toBe(1);
  });

  test('an UpdateItem growing a 3.5 KB item to 4.2 KB costs 5, and shrinking it back costs 5 too', async () => {
    const pk = uniqueId('grow');
    await db.send(new PutCommand({ TableName: tableName, Item: itemOfSize(pk, 3.5 * KB) }));
    proxy.meter.reset();
    // 3,584 bytes + "more" (4) + 713 characters = 4,301 bytes = 4.2 KB.
    const grow = { TableName: tableName, Key: { PK: pk, SK: '#' }, UpdateExpression: 'SET more = :more', ExpressionAttributeValues: { ':more': 'm'.repeat(713) } };
    await db.send(new UpdateCommand(grow));
    expect(wcu(pk)).toBe(5);
    await db.send(new UpdateCommand({ TableName: tableName, Key: { PK: pk, SK: '#' }, UpdateExpression: 'REMOVE more' }));
    expect(wcu(pk)).toBe(10);
  });

  test('a DeleteItem costs the deleted item (at least 1)', async () => {
    const pk = uniqueId('del');
    await db.send(new PutCommand({ TableName: tableName, Item: itemOfSize(pk, 3 * KB) }));
    proxy.meter.reset();
    await db.send(new DeleteCommand({ TableName: tableName, Key: { PK: pk, SK: '#' } }));
    await db.send(new DeleteCommand({ TableName: tableName, Key: { PK: pk, SK: '#' } }));
    expect(wcu(pk)).toBe(3 + 1);
  });
});

describe('reads cost ⌈size / 4 KB⌉ RCU, half when eventually consistent', () => {
  test('a strongly consistent GetItem of a 5 KB item costs 2 RCU, an eventually consistent one 1', async () => {
    const pk = uniqueId('get');
    await db.send(new PutCommand({ TableName: tableName, Item: itemOfSize(pk, 5 * KB) }));
    await db.send(new GetCommand({ TableName: tableName, Key: { PK: pk, SK: '#' }, ConsistentRead: true }));
    expect(rcu(pk)).toBe(2);
    await db.send(new GetCommand({ TableName: tableName, Key: { PK: pk, SK: '#' } }));
    expect(rcu(pk)).toBe(3);
  });

  test('a projection does not lower the cost, and reading nothing still costs 1 (0.5 eventually consistent)', async () => {
    const pk = uniqueId('get');
    await db.send(new PutCommand({ TableName: tableName, Item: itemOfSize(pk, 5 * KB) }));
    const { Item } = await db.send(new GetCommand({ TableName: tableName, Key: { PK: pk, SK: '#' }, ConsistentRead: true, ProjectionExpression: 'SK' }));
    expect(Item).toEqual({ SK: '#' });
    expect(rcu(pk)).toBe(2);
    const absent = uniqueId('get');
    await db.send(new GetCommand({ TableName: tableName, Key: { PK: absent, SK: '#' }, ConsistentRead: true }));
    await db.send(new GetCommand({ TableName: tableName, Key: { PK: absent, SK: '#' } }));
    expect(rcu(absent)).toBe(1.5);
  });

  test('a Query adds up the items it returns, then rounds: three 1.5 KB items cost 2 RCU (not 3), 1 eventually consistent', async () => {
    const pk = uniqueId('query');
    for (const sk of ['a', 'b', 'c']) await db.send(new PutCommand({ TableName: tableName, Item: itemOfSize(pk, 1.5 * KB, {}, sk) }));
    proxy.meter.reset();
    const query = { TableName: tableName, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': pk } };
    const { Items } = await db.send(new QueryCommand({ ...query, ConsistentRead: true }));
    expect(Items).toHaveLength(3);
    expect(rcu(pk)).toBe(2);
    await db.send(new QueryCommand(query));
    expect(rcu(pk)).toBe(2 + 1);
  });

  test('a Query is billed for what it reads, not what its filter lets through; each page on its own', async () => {
    const pk = uniqueId('query');
    for (const sk of ['a', 'b', 'c']) await db.send(new PutCommand({ TableName: tableName, Item: itemOfSize(pk, 1.5 * KB, {}, sk) }));
    proxy.meter.reset();
    const filtered = await db.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: '#pk = :pk',
        FilterExpression: 'filler = :none',
        ExpressionAttributeNames: { '#pk': 'PK' },
        ExpressionAttributeValues: { ':pk': pk, ':none': 'none' },
        ConsistentRead: true,
      }),
    );
    expect(filtered).toMatchObject({ Count: 0, ScannedCount: 3 });
    expect(rcu(pk)).toBe(2);
    // Two pages of Limit 2: 3 KB (1 RCU), then 1.5 KB (1 RCU).
    proxy.meter.reset();
    const first = await db.send(new QueryCommand({ TableName: tableName, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': pk }, ConsistentRead: true, Limit: 2 }));
    await db.send(new QueryCommand({ TableName: tableName, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': pk }, ConsistentRead: true, Limit: 2, ExclusiveStartKey: first.LastEvaluatedKey }));
    expect(rcu(pk)).toBe(2);
  });

  test('a BatchGetItem rounds each item on its own: 1.5 KB and 6.5 KB cost 4 + 8 KB = 3 RCU', async () => {
    const [a, b] = [uniqueId('bget'), uniqueId('bget')];
    await db.send(new PutCommand({ TableName: tableName, Item: itemOfSize(a, 1.5 * KB) }));
    await db.send(new PutCommand({ TableName: tableName, Item: itemOfSize(b, 6.5 * KB) }));
    proxy.meter.reset();
    const { Responses } = await db.send(
      new BatchGetCommand({ RequestItems: { [tableName]: { Keys: [{ PK: a, SK: '#' }, { PK: b, SK: '#' }], ConsistentRead: true } } }),
    );
    expect(Responses?.[tableName]).toHaveLength(2);
    expect([rcu(a), rcu(b)]).toEqual([1, 2]);
    expect(proxy.meter.operations().BatchGetItem?.rcu).toBe(3);
  });

  test('a Scan is recorded on its own, not on any key', async () => {
    const { Count } = await db.send(new ScanCommand({ TableName: tableName, Select: 'COUNT', ConsistentRead: true }));
    expect(Count).toBeGreaterThan(0);
    const [scan] = proxy.meter.scans();
    expect(scan).toMatchObject({ table: tableName, calls: 1 });
    expect(scan!.rcu).toBeGreaterThanOrEqual(1);
    expect(proxy.meter.keys()).toEqual([]);
  });
});

describe('index writes cost the entry (keys + projected attributes + 100 bytes) on the index partition key', () => {
  // GSI1 projects ALL: a 2,000-byte item is a 2,100-byte entry.
  const indexed = (pk: string, batch: string) => ({ ...itemOfSize(pk, 2000 - 'GSI1SK'.length - 2, { GSI1PK: batch }), GSI1SK: 1 });

  test('adding an entry costs 3 WCU on the index key (2 on the table), moving it costs 3 + 3, a no-op change nothing, removing it 3', async () => {
    const pk = uniqueId('gsi');
    const batch = uniqueId('BATCH#m');
    const [from, to] = [`${batch}-a`, `${batch}-b`];
    await db.send(new PutCommand({ TableName: tableName, Item: indexed(pk, from) }));
    expect(wcu(pk)).toBe(2);
    expect(proxy.meter.usage(onIndex(from)).wcu).toBe(3);

    proxy.meter.reset();
    const key = { PK: pk, SK: '#' };
    // `to` is as long as `from`: the item and its entry keep their size.
    await db.send(new UpdateCommand({ TableName: tableName, Key: key, UpdateExpression: 'SET GSI1PK = :to', ExpressionAttributeValues: { ':to': to } }));
    expect([wcu(pk), proxy.meter.usage(onIndex(from)).wcu, proxy.meter.usage(onIndex(to)).wcu]).toEqual([2, 3, 3]);

    proxy.meter.reset();
    const { Item } = await direct.send(new GetCommand({ TableName: tableName, Key: key }));
    await db.send(new UpdateCommand({ TableName: tableName, Key: key, UpdateExpression: 'SET filler = :same', ExpressionAttributeValues: { ':same': Item!.filler } }));
    expect(wcu(pk)).toBe(2);
    expect(proxy.meter.keys().filter((usage) => usage.index)).toEqual([]);

    proxy.meter.reset();
    await db.send(new UpdateCommand({ TableName: tableName, Key: key, UpdateExpression: 'REMOVE GSI1PK, GSI1SK' }));
    expect([wcu(pk), proxy.meter.usage(onIndex(to)).wcu]).toEqual([2, 3]);
  });

  test('a failed condition writes no index entry; an index Query is eventually consistent, on the index key', async () => {
    const pk = uniqueId('gsi');
    const batch = uniqueId('BATCH#c');
    await db.send(new PutCommand({ TableName: tableName, Item: indexed(pk, batch) }));
    proxy.meter.reset();
    await expect(
      db.send(new PutCommand({ TableName: tableName, Item: indexed(pk, batch), ConditionExpression: 'attribute_not_exists(PK)' })),
    ).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    expect(proxy.meter.keys()).toEqual([{ ...table(pk), wcu: 2, rcu: 0, throttled: 0 }]);

    const { Items } = await db.send(
      new QueryCommand({ TableName: tableName, IndexName: TABLE.gsi1.indexName, KeyConditionExpression: 'GSI1PK = :b', ExpressionAttributeValues: { ':b': batch } }),
    );
    expect(Items).toHaveLength(1);
    expect(proxy.meter.usage(onIndex(batch)).rcu).toBe(0.5);
  });

  test('KEYS_ONLY and INCLUDE entries hold only their attributes; a write that changes none of them costs nothing on the index', async () => {
    const projections = `${tableName}-projections`;
    const admin = createDynamoClient({ endpoint: dynalite });
    await admin.send(
      new CreateTableCommand({
        TableName: projections,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'PK', AttributeType: 'S' },
          { AttributeName: 'owner', AttributeType: 'S' },
        ],
        KeySchema: [{ AttributeName: 'PK', KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [
          { IndexName: 'ByOwner', KeySchema: [{ AttributeName: 'owner', KeyType: 'HASH' }], Projection: { ProjectionType: 'KEYS_ONLY' } },
          {
            IndexName: 'ByOwnerWithName',
            KeySchema: [{ AttributeName: 'owner', KeyType: 'HASH' }],
            Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['name'] },
          },
        ],
      }),
    );
    admin.destroy();
    const usage = (index: string) => proxy.meter.usage({ table: projections, index, partitionKey: 'o1' }).wcu;

    // KEYS_ONLY entry: PK (2 + 2) + owner (5 + 2) + 100 = 111 bytes; INCLUDE adds name (4 + 900).
    await db.send(new PutCommand({ TableName: projections, Item: { PK: 'p1', owner: 'o1', name: 'n'.repeat(900), filler: 'x'.repeat(3000) } }));
    expect(proxy.meter.usage({ table: projections, partitionKey: 'p1' }).wcu).toBe(4);
    expect([usage('ByOwner'), usage('ByOwnerWithName')]).toEqual([1, 1]);

    proxy.meter.reset();
    await db.send(new UpdateCommand({ TableName: projections, Key: { PK: 'p1' }, UpdateExpression: 'SET filler = :f', ExpressionAttributeValues: { ':f': 'y'.repeat(3000) } }));
    expect([usage('ByOwner'), usage('ByOwnerWithName')]).toEqual([0, 0]);

    // name grows to 1,000: the INCLUDE entry is rewritten, the larger of before (1,015) and after (1,115) bytes.
    await db.send(new UpdateCommand({ TableName: projections, Key: { PK: 'p1' }, UpdateExpression: 'SET #n = :n', ExpressionAttributeNames: { '#n': 'name' }, ExpressionAttributeValues: { ':n': 'n'.repeat(1000) } }));
    expect([usage('ByOwner'), usage('ByOwnerWithName')]).toEqual([0, 2]);
  });
});

test('per-key totals and the hottest keys are right when many keys are written and read at once', async () => {
  // Key i gets i + 1 puts of a ((i % 3) + 1) KB item, all at the same time.
  const keys = Array.from({ length: 10 }, (_, i) => ({ pk: uniqueId(`many${i}`), puts: i + 1, size: ((i % 3) + 1) * KB }));
  await Promise.all(
    keys.flatMap(({ pk, puts, size }) =>
      Array.from({ length: puts }, () => db.send(new PutCommand({ TableName: tableName, Item: itemOfSize(pk, size) }))),
    ),
  );
  for (const { pk, puts, size } of keys) expect(wcu(pk)).toBe((puts * size) / KB);
  expect(proxy.meter.hottest('write')).toEqual({ ...table(keys[8]!.pk), wcu: 27, rcu: 0, throttled: 0 });
  expect(proxy.meter.totals().wcu).toBe(keys.reduce((sum, { puts, size }) => sum + (puts * size) / KB, 0));
  expect(proxy.meter.operations().PutItem?.calls).toBe(55);

  await Promise.all(
    Array.from({ length: 5 }, () => db.send(new GetCommand({ TableName: tableName, Key: { PK: keys[3]!.pk, SK: '#' }, ConsistentRead: true }))),
  );
  expect(proxy.meter.hottest('read')).toMatchObject({ ...table(keys[3]!.pk), rcu: 5 });
});

describe('throttling per key', () => {
  let randomSpy: jest.SpyInstance | undefined;
  afterEach(() => randomSpy?.mockRestore());

  test('past its bucket a key is throttled: the SDK retries, then surfaces ProvisionedThroughputExceededException; other keys are not', async () => {
    // 1/1000 of DynamoDB's rate: 1 WCU per second, 1 WCU of burst.
    proxy.setOptions({ throttle: { scale: 1 / 1000 } });
    // The SDK waits random() × its backoff between attempts: drawing 0 keeps every retry but not the wait.
    randomSpy = jest.spyOn(Math, 'random').mockReturnValue(0);
    const [hot, cool] = [uniqueId('hot'), uniqueId('cool')];
    // The bucket admits a request while above zero; the 5 WCU put then leaves it at -4 WCU.
    await db.send(new PutCommand({ TableName: tableName, Item: itemOfSize(hot, KB_4_7) }));
    attempts = 0;

    const error = await db.send(new PutCommand({ TableName: tableName, Item: itemOfSize(hot, 100) })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProvisionedThroughputExceededException);
    expect(error).toMatchObject({
      $metadata: { httpStatusCode: 400, attempts: 3 },
      ThrottlingReasons: [{ reason: 'TableWriteKeyRangeThroughputExceeded', resource: expect.stringMatching(new RegExp(`:table/${tableName}$`)) }],
    });
    expect(attempts).toBe(3);
    expect(proxy.meter.usage(table(hot))).toMatchObject({ wcu: 5, throttled: 3 });
    expect(proxy.meter.operations().PutItem).toMatchObject({ calls: 4, throttled: 3 });
    // Not forwarded: the stored item is still the 4.7 KB one.
    const { Item } = await direct.send(new GetCommand({ TableName: tableName, Key: { PK: hot, SK: '#' } }));
    expect(itemBytes(Item!)).toBe(KB_4_7);

    await db.send(new PutCommand({ TableName: tableName, Item: itemOfSize(cool, 100) }));
    expect(proxy.meter.usage(table(cool))).toMatchObject({ wcu: 1, throttled: 0 });
  });

  test('a throttle shorter than the retries is absorbed: the SDK retries after its backoff and succeeds', async () => {
    // 10 WCU per second, 10 of burst; the SDK's first retry after a throttle waits 0.5 × 1 s here.
    proxy.setOptions({ throttle: { scale: 1 / 100 } });
    randomSpy = jest.spyOn(Math, 'random').mockReturnValue(0.5);
    const pk = uniqueId('burst');
    const retried: number[] = [];
    for (let i = 0; i < 40 && retried.length === 0; i++) {
      const { $metadata } = await db.send(new PutCommand({ TableName: tableName, Item: itemOfSize(pk, KB) }));
      if (($metadata.attempts ?? 1) > 1) retried.push(i);
    }
    expect(retried).toHaveLength(1);
    expect(proxy.meter.usage(table(pk)).throttled).toBe(1);
    expect(proxy.meter.operations().PutItem?.throttled).toBe(1);
  });

  test('below the rate nothing is throttled, even past the burst', async () => {
    // 10 WCU per second: 20 writes of 1 WCU at 8 per second, twice the burst in all.
    proxy.setOptions({ throttle: { scale: 1 / 100 } });
    const pk = uniqueId('steady');
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      await db.send(new PutCommand({ TableName: tableName, Item: itemOfSize(pk, KB) }));
      await new Promise((resolve) => setTimeout(resolve, 125 - (performance.now() - started)));
    }
    expect(attempts).toBe(20);
    expect(proxy.meter.usage(table(pk))).toMatchObject({ wcu: 20, throttled: 0 });
  });

  test('a hot index partition throttles the table writes that would write to it, whatever their own key', async () => {
    proxy.setOptions({ throttle: { scale: 1 / 1000 } });
    const once = createDocumentClient({ endpoint: proxy.endpoint, maxAttempts: 1 });
    const batch = uniqueId('BATCH#hot');
    const assign = (pk: string, n: number) =>
      once.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { PK: pk, SK: '#' },
          UpdateExpression: 'SET #ipk = :batch, #isk = :n, filler = :filler',
          ExpressionAttributeNames: { '#ipk': TABLE.gsi1.partitionKey, '#isk': TABLE.gsi1.sortKey },
          ExpressionAttributeValues: { ':batch': batch, ':n': n, ':filler': 'x'.repeat(2000) },
        }),
      );
    const [first, second] = [uniqueId('idx'), uniqueId('idx')];
    await assign(first, 1);
    const error = await assign(second, 2).catch((e: unknown) => e);
    once.destroy();
    expect(error).toMatchObject({
      name: 'ProvisionedThroughputExceededException',
      ThrottlingReasons: [{ reason: 'IndexWriteKeyRangeThroughputExceeded', resource: expect.stringMatching(/\/index\/GSI1$/) }],
    });
    expect(proxy.meter.usage(onIndex(batch))).toMatchObject({ wcu: 3, throttled: 1 });
    expect(proxy.meter.usage(table(second))).toMatchObject({ wcu: 0, throttled: 0 });
  });

  test('reads have their own buckets, at 3,000 RCU per second scaled', async () => {
    // 3 RCU per second: a 5 KB strongly consistent read (2 RCU) twice, then refused.
    proxy.setOptions({ throttle: { scale: 1 / 1000 } });
    const pk = uniqueId('reads');
    await db.send(new PutCommand({ TableName: tableName, Item: itemOfSize(pk, 5 * KB) }));
    const once = createDocumentClient({ endpoint: proxy.endpoint, maxAttempts: 1 });
    const read = () => once.send(new GetCommand({ TableName: tableName, Key: { PK: pk, SK: '#' }, ConsistentRead: true }));
    await read();
    await read();
    const error = await read().catch((e: unknown) => e);
    once.destroy();
    expect(error).toMatchObject({ name: 'ProvisionedThroughputExceededException', ThrottlingReasons: [{ reason: 'TableReadKeyRangeThroughputExceeded' }] });
    expect(proxy.meter.usage(table(pk))).toMatchObject({ rcu: 4, throttled: 1 });
  });
});

describe('index lag', () => {
  test('an index Query does not show a fresh entry for lagMs, then shows it; the table shows it at once', async () => {
    proxy.setOptions({ indexLagMs: 400 });
    const batch = uniqueId('BATCH#lag');
    const pk = uniqueId('lag');
    const byBatch = { TableName: tableName, IndexName: TABLE.gsi1.indexName, KeyConditionExpression: 'GSI1PK = :b', ExpressionAttributeValues: { ':b': batch } };
    await db.send(new PutCommand({ TableName: tableName, Item: { PK: uniqueId('lag'), SK: '#', GSI1PK: batch, GSI1SK: 1 } }));
    await new Promise((resolve) => setTimeout(resolve, 450));
    const written = performance.now();
    await db.send(new PutCommand({ TableName: tableName, Item: { PK: pk, SK: '#', GSI1PK: batch, GSI1SK: 2 } }));

    const early = await db.send(new QueryCommand(byBatch));
    expect(early).toMatchObject({ Count: 1, ScannedCount: 1, Items: [{ GSI1SK: 1 }] });
    expect((await db.send(new GetCommand({ TableName: tableName, Key: { PK: pk, SK: '#' } }))).Item).toBeDefined();

    await new Promise((resolve) => setTimeout(resolve, 400 - (performance.now() - written) + 20));
    const late = await db.send(new QueryCommand(byBatch));
    expect(late).toMatchObject({ Count: 2, Items: [{ GSI1SK: 1 }, { GSI1SK: 2 }] });
  });

  test('an entry that changes is hidden again; a Query that would hide entries it cannot tell apart is refused', async () => {
    proxy.setOptions({ indexLagMs: 300 });
    const batch = uniqueId('BATCH#lag');
    const key = { PK: uniqueId('lag'), SK: '#' };
    await db.send(new PutCommand({ TableName: tableName, Item: { ...key, GSI1PK: batch, GSI1SK: 1 } }));
    await new Promise((resolve) => setTimeout(resolve, 350));
    const byBatch = { TableName: tableName, IndexName: TABLE.gsi1.indexName, KeyConditionExpression: 'GSI1PK = :b', ExpressionAttributeValues: { ':b': batch } };
    expect((await db.send(new QueryCommand(byBatch))).Count).toBe(1);
    await db.send(new UpdateCommand({ TableName: tableName, Key: key, UpdateExpression: 'SET note = :n', ExpressionAttributeValues: { ':n': 'changed' } }));
    expect((await db.send(new QueryCommand(byBatch))).Count).toBe(0);

    await expect(db.send(new QueryCommand({ ...byBatch, Select: 'COUNT' }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('index lag'),
    });
  });

  test('a projected Query hides the same entries, even when its projection leaves out the table keys', async () => {
    proxy.setOptions({ indexLagMs: 300 });
    const batch = uniqueId('BATCH#lag');
    await db.send(new PutCommand({ TableName: tableName, Item: { PK: uniqueId('lag'), SK: '#', GSI1PK: batch, GSI1SK: 1, id: 'old' } }));
    await new Promise((resolve) => setTimeout(resolve, 350));
    await db.send(new PutCommand({ TableName: tableName, Item: { PK: uniqueId('lag'), SK: '#', GSI1PK: batch, GSI1SK: 2, id: 'new' } }));
    const projected = await db.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: TABLE.gsi1.indexName,
        KeyConditionExpression: 'GSI1PK = :b',
        ProjectionExpression: 'id',
        ExpressionAttributeValues: { ':b': batch },
      }),
    );
    expect(projected).toMatchObject({ Count: 1, Items: [{ id: 'old' }] });
    expect(projected.Items![0]).toEqual({ id: 'old' });
  });
});

describe('UnprocessedItems from BatchWriteItem', () => {
  const puts = (prefix: string) =>
    Array.from({ length: 25 }, (_, i) => ({ PutRequest: { Item: { PK: `${prefix}-${i}`, SK: '#', n: i } } }));
  const stored = async (requests: ReturnType<typeof puts>) =>
    (await Promise.all(requests.map(({ PutRequest: { Item } }) => direct.send(new GetCommand({ TableName: tableName, Key: { PK: Item.PK, SK: '#' } }))))).map(
      ({ Item }) => Item !== undefined,
    );

  test('a seeded fraction of the requests comes back unprocessed and unwritten; the same seed leaves out the same ones', async () => {
    proxy.setOptions({ unprocessedFraction: 0.4, seed: 7 });
    const first = puts(uniqueId('bw'));
    const answer = await db.send(new BatchWriteCommand({ RequestItems: { [tableName]: first } }));
    const unprocessed = answer.UnprocessedItems?.[tableName] ?? [];
    expect(unprocessed.length).toBeGreaterThan(0);
    expect(unprocessed.length).toBeLessThan(25);
    expect(proxy.meter.operations().BatchWriteItem).toMatchObject({ unprocessed: unprocessed.length, wcu: 25 - unprocessed.length });
    const heldBack = new Set(unprocessed.map((request) => request.PutRequest?.Item?.n as number));
    expect(await stored(first)).toEqual(first.map((_, i) => !heldBack.has(i)));

    proxy.setOptions({ seed: 7 });
    const again = await db.send(new BatchWriteCommand({ RequestItems: { [tableName]: puts(uniqueId('bw')) } }));
    expect(new Set(again.UnprocessedItems?.[tableName]?.map((request) => request.PutRequest?.Item?.n as number))).toEqual(heldBack);
  });

  test('SessionWriter.putEvents retries them and writes every event', async () => {
    // 0.3: an event left out 10 times running (SessionWriter's limit) is then unlikely (0.3^10).
    proxy.setOptions({ unprocessedFraction: 0.3, seed: 3 });
    const sessionId = uniqueId();
    const events = Array.from({ length: 60 }, (_, i) => makeEvent(sessionId, { created_at: 1_700_000_000 + i }));
    await new SessionWriter(db, tableName).putEvents(events);

    const batchWrites = proxy.meter.operations().BatchWriteItem!;
    expect(batchWrites.unprocessed).toBeGreaterThan(0);
    expect(batchWrites.calls).toBeGreaterThan(3);
    const { Items } = await direct.send(
      new QueryCommand({ TableName: tableName, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': `SESSION#${sessionId}` } }),
    );
    expect(Items).toHaveLength(60);
  });
});

describe('a real handler through the proxy', () => {
  type Handlers = typeof import('../support/handlers');
  let handlers: Handlers;
  const session = () => makeSession({ search_meta: { filler: '' } });
  /** A session whose stored item is `bytes` bytes (as shared/data/item-limits.ts counts them), with one event. */
  async function seedSessionOfSize(bytes: number): Promise<string> {
    const base = session();
    const padded = { ...base, search_meta: { filler: 'x'.repeat(bytes - itemBytes(sessionItem(base))) } };
    expect(itemBytes(sessionItem(padded))).toBe(bytes);
    await handlers.writer().putEvents([makeEvent(padded.session_id, { created_at: padded.created_at + 1 })]);
    await handlers.writer().upsertSession(padded);
    return padded.session_id;
  }

  beforeAll(() => {
    // The handlers build their client when their modules load: load a copy of them that points at the proxy.
    const dynaliteEndpoint = process.env.DYNAMODB_ENDPOINT;
    process.env.DYNAMODB_ENDPOINT = proxy.endpoint;
    try {
      jest.isolateModules(() => {
        handlers = require('../support/handlers') as Handlers;
      });
    } finally {
      process.env.DYNAMODB_ENDPOINT = dynaliteEndpoint;
    }
  });

  /** Seeds 4.7 KB sessions until `count` of them share one shard. */
  async function sessionsOnOneShard(count: number): Promise<string[]> {
    const byShard = new Map<number, string[]>();
    for (;;) {
      const id = await seedSessionOfSize(KB_4_7);
      const shard = shardOf(id, Number(process.env.SHARD_COUNT));
      const ids = [...(byShard.get(shard) ?? []), id];
      if (ids.length === count) return ids;
      byShard.set(shard, ids);
    }
  }

  test('a first schedule of a 4.7 KB session costs 1 WCU each on its session, its shard and its shard’s membership partition: 3 in all', async () => {
    const [placer, sessionId] = await sessionsOnOneShard(2);
    // The first schedule of a shard also places it (and the first of all opens the batch).
    await handlers.scheduleOverHttp(placer!);
    proxy.meter.reset();
    const answer = await handlers.scheduleOverHttp(sessionId!);
    expect(answer).toMatchObject({ status: 200, body: { status: 'scheduled' } });
    const shard = String(shardOf(sessionId!, Number(process.env.SHARD_COUNT))).padStart(2, '0');

    const perKey = proxy.meter.keys().map(({ index, partitionKey, wcu, rcu }) => `${index ? `${index} ` : ''}${partitionKey}: ${wcu} WCU, ${rcu} RCU`);
    console.log(`A first schedule of a 4.7 KB session, per key:\n  ${perKey.join('\n  ')}`);
    // The session: a strongly consistent Query of its partition (4.9 KB: 2 RCU), then its small assignment item.
    expect(proxy.meter.usage(table(`SESSION#${sessionId}`))).toMatchObject({ wcu: 1, rcu: 2 });
    // Its shard: an eventually consistent read, then the fence check (a small conditional write).
    expect(proxy.meter.usage(table(`SHARD#${shard}`))).toMatchObject({ wcu: 1, rcu: 0.5 });
    // Its membership in the batch's shard partition: one small item.
    expect(proxy.meter.usage(table(`MEMBERS#${answer.body.batch_id}#${shard}`))).toMatchObject({ wcu: 1, rcu: 0 });
    // No index entry, and the pointer is not touched.
    expect(proxy.meter.keys()).toHaveLength(3);
    expect(proxy.meter.totals()).toEqual({ wcu: 3, rcu: 2.5 });
  });

  test('at a tiny scale a shard’s keys are what throttles the schedules of that shard: 503 with Retry-After, then the retry schedules', async () => {
    // 1 WCU per second on every key: each schedule puts 1 on its shard and 1 on its membership partition.
    const ids = await sessionsOnOneShard(4);
    await handlers.scheduleOverHttp(ids[0]!); // the shard is placed before the limits apply
    proxy.setOptions({ throttle: { scale: 1 / 1000 } });
    const randomSpy = jest.spyOn(Math, 'random').mockReturnValue(0);
    try {
      const answers = [];
      for (const id of ids.slice(1)) {
        const answer = await handlers.scheduleOverHttp(id);
        answers.push(answer);
        if (answer.status === 503) break;
      }
      const refused = answers.at(-1)!;
      expect(refused).toMatchObject({ status: 503, body: { error: { code: 'service_unavailable' } } });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      const shard = String(shardOf(ids[0]!, Number(process.env.SHARD_COUNT))).padStart(2, '0');
      const hot = proxy.meter.keys().filter((usage) => usage.throttled > 0).map((usage) => usage.partitionKey);
      expect(hot.length).toBeGreaterThan(0);
      for (const key of hot) expect(key).toMatch(new RegExp(`^(SHARD#${shard}|MEMBERS#\\d+#${shard})$`));

      proxy.setOptions({ throttle: undefined });
      const retried = await handlers.scheduleOverHttp(ids[answers.length]!);
      expect(retried).toMatchObject({ status: 200, body: { status: 'scheduled' } });
    } finally {
      randomSpy.mockRestore();
      proxy.setOptions({ throttle: undefined });
    }
  });
});
