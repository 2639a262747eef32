/**
 * What the proxy does with each DynamoDB operation on its way to dynalite:
 * meters it as DynamoDB bills it and, when asked, throttles hot keys, lags
 * the indexes, and hands batch writes back unprocessed. Operations it does
 * not know pass through unmetered.
 */
import {
  indexChanges,
  indexEntry,
  indexPartition,
  readUnits,
  tablePartition,
  writeCharges,
  type CapacityKind,
  type Charge,
  type Partition,
} from './capacity';
import { filters, narrowsAttributes, narrowsItems, queryPartitionValue, readingEverything, valueAfterUpdate } from './expressions';
import { IndexLag } from './index-lag';
import { ItemLocks } from './item-locks';
import { itemSize } from './item-size';
import { CapacityMeter } from './meter';
import { keyAttributes, keyId, keyOf, scalarText, SchemaCache, type TableDescription, type TableSchema } from './table-schema';
import { ThrottleBuckets } from './throttle';
import { Upstream, UpstreamError, type WireResponse } from './upstream';
import { errorName, type Body, type Item } from './wire';
import { seededRandom } from '../seeded-random';

export interface RealismOptions {
  /** Throttle every key at DynamoDB's per-partition rates times `scale` (e.g. 1/100), one second of burst. Off when unset. */
  throttle?: { scale: number } | undefined;
  /** An index Query shows an entry only this long after the write that added or changed it (0: at once). */
  indexLagMs?: number;
  /** The fraction (0 to 1) of BatchWriteItem requests handed back in UnprocessedItems instead of written. */
  unprocessedFraction?: number;
  /** Seeds the draw that picks those requests: the same seed and the same calls leave the same ones out. */
  seed?: number;
}

/** An answer to the client: upstream's bytes as they came (`wire`), or a body of the proxy's own. */
export interface Answer {
  status: number;
  body: Body;
  wire?: WireResponse;
}

/** Sends the client's request upstream, or `replacement` in its place. */
export type Forward = (replacement?: Body) => Promise<Answer>;

type WriteOperation = 'PutItem' | 'UpdateItem' | 'DeleteItem';
type WriteRequest = { PutRequest?: { Item: Item }; DeleteRequest?: { Key: Item } };
type KeysAndAttributes = Body & { Keys?: Item[] };

const THROTTLED = 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException';
// What DynamoDB says when one key of an on-demand table is over its partition's rate.
const THROTTLED_MESSAGE =
  'Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your table or ' +
  'index so please try again shortly. If exceptions persist, check if you have a hot key: ' +
  'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html';
const VALIDATION = 'com.amazon.coral.validate#ValidationException';

const reply = (status: number, body: Body): Answer => ({ status, body });
const indexId = (table: string, index: string): string => `${table}/${index}`;
const sumSizes = (items: readonly Item[]): number => items.reduce((sum, item) => sum + itemSize(item), 0);

export class Realism {
  readonly meter = new CapacityMeter();
  private readonly schemas: SchemaCache;
  private readonly locks = new ItemLocks();
  private readonly lag: IndexLag;
  private options: RealismOptions;
  private buckets: ThrottleBuckets | undefined;
  private draw: () => number;

  constructor(
    private readonly upstream: Upstream,
    options: RealismOptions,
  ) {
    this.schemas = new SchemaCache((tableName) =>
      upstream.call<TableDescription>('DescribeTable', { TableName: tableName }).catch((error: unknown) => {
        if (error instanceof UpstreamError && errorName(error.body) === 'ResourceNotFoundException') return undefined;
        throw error;
      }),
    );
    this.options = checked(options);
    this.lag = new IndexLag(this.options.indexLagMs ?? 0);
    this.buckets = this.options.throttle && new ThrottleBuckets(this.options.throttle.scale);
    this.draw = seededRandom(this.options.seed ?? 1);
  }

  /** Changes the options given; a new throttle starts with full buckets, a new seed restarts the draw. */
  setOptions(options: RealismOptions): void {
    const next = checked({ ...this.options, ...options });
    if ('throttle' in options) this.buckets = next.throttle && new ThrottleBuckets(next.throttle.scale);
    if ('seed' in options) this.draw = seededRandom(next.seed ?? 1);
    this.lag.setLag(next.indexLagMs ?? 0);
    this.options = next;
  }

  handle(operation: string, request: Body, forward: Forward): Promise<Answer> {
    this.meter.called(operation);
    switch (operation) {
      case 'PutItem':
      case 'UpdateItem':
      case 'DeleteItem':
        return this.write(operation, request, forward);
      case 'BatchWriteItem':
        return this.batchWrite(request, forward);
      case 'GetItem':
        return this.getItem(request, forward);
      case 'BatchGetItem':
        return this.batchGet(request, forward);
      case 'Query':
        return this.query(request, forward);
      case 'Scan':
        return this.scan(request, forward);
      case 'CreateTable':
      case 'UpdateTable':
      case 'DeleteTable':
        this.schemas.forget(String(request.TableName));
        return forward();
      default:
        return forward();
    }
  }

  private async write(operation: WriteOperation, request: Body, forward: Forward): Promise<Answer> {
    const schema = await this.schemas.get(String(request.TableName));
    const key = schema && (operation === 'PutItem' ? keyOf(schema, request.Item as Item) : (request.Key as Item | undefined));
    if (!schema || !key) return forward();
    return this.locks.run([keyId(schema.name, key)], async () => {
      const before = await this.upstream.getItem(schema.name, key);
      const touched = writePartitions(schema, key, before, predictedAfter(operation, request, schema, key, before));
      const refused = this.refuse(operation, 'write', [schema], touched);
      if (refused) return refused;

      const answer = await forward();
      const conditionFailed = errorName(answer.body) === 'ConditionalCheckFailedException';
      if (answer.status !== 200 && !conditionFailed) return answer;
      // DynamoDB developer guide, "DynamoDB read and write operations": a failed condition still costs, on the existing item.
      const after = conditionFailed
        ? before
        : operation === 'DeleteItem'
          ? undefined
          : operation === 'PutItem'
            ? (request.Item as Item)
            : await this.upstream.getItem(schema.name, key);
      this.settleWrite(operation, schema, key, before, after);
      return answer;
    });
  }

  private async batchWrite(request: Body, forward: Forward): Promise<Answer> {
    const requestItems = (request.RequestItems ?? {}) as Record<string, WriteRequest[]>;
    const schemas = await this.schemasOf(Object.keys(requestItems));
    if (!schemas) return forward();
    const writes = Object.entries(requestItems).flatMap(([table, requests]) =>
      requests.map((write) => {
        const schema = schemas.get(table)!;
        return { table, schema, write, key: write.PutRequest ? keyOf(schema, write.PutRequest.Item) : write.DeleteRequest?.Key };
      }),
    );
    const known = writes.filter((write): write is (typeof writes)[number] & { key: Item } => write.key !== undefined);
    if (writes.length === 0 || known.length < writes.length) return forward();

    return this.locks.run(known.map(({ table, key }) => keyId(table, key)), async () => {
      const pending = await Promise.all(
        known.map(async (write) => ({ ...write, before: await this.upstream.getItem(write.table, write.key) })),
      );
      const throttled: Partition[] = [];
      const fates = pending.map(({ schema, write, key, before }) => {
        const empty = this.buckets?.empty('write', writePartitions(schema, key, before, write.PutRequest?.Item)) ?? [];
        throttled.push(...empty);
        if (empty.length > 0) return 'throttled';
        return this.draw() < (this.options.unprocessedFraction ?? 0) ? 'held back' : 'sent';
      });
      // DynamoDB API reference, "BatchWriteItem": when no request can be written for lack of throughput, the call is throttled.
      if (fates.every((fate) => fate === 'throttled')) return this.refused('BatchWriteItem', 'write', [...schemas.values()], throttled);
      this.meter.throttled('BatchWriteItem', throttled, false);

      const sent = pending.filter((_, i) => fates[i] === 'sent');
      const heldBack = pending.filter((_, i) => fates[i] !== 'sent');
      const grouped = (writes: typeof pending) => {
        const byTable: Record<string, WriteRequest[]> = {};
        for (const { table, write } of writes) (byTable[table] ??= []).push(write);
        return byTable;
      };
      const answer =
        heldBack.length === 0
          ? await forward()
          : sent.length === 0
            ? reply(200, { UnprocessedItems: {} })
            : await forward({ ...request, RequestItems: grouped(sent) });
      if (answer.status !== 200) return answer;
      // DynamoDB developer guide, "DynamoDB read and write operations": each request is billed as its own PutItem or DeleteItem.
      for (const { schema, write, key, before } of sent) this.settleWrite('BatchWriteItem', schema, key, before, write.PutRequest?.Item);
      if (heldBack.length === 0) return answer;
      this.meter.unprocessed('BatchWriteItem', heldBack.length);
      // dynalite never leaves a request unprocessed itself, so these are all there are.
      return reply(200, { ...answer.body, UnprocessedItems: grouped(heldBack) });
    });
  }

  private async getItem(request: Body, forward: Forward): Promise<Answer> {
    const schema = await this.schemas.get(String(request.TableName));
    const key = request.Key as Item | undefined;
    if (!schema || !key || !keyOf(schema, key)) return forward();
    const partition = tablePartition(schema, key);
    const refused = this.refuse('GetItem', 'read', [schema], [partition]);
    if (refused) return refused;

    const answer = await forward();
    if (answer.status !== 200) return answer;
    // DynamoDB developer guide, "DynamoDB read and write operations": a projection does not lower the cost.
    const item = narrowsAttributes(request) ? await this.upstream.getItem(schema.name, key) : (answer.body.Item as Item | undefined);
    this.bill('GetItem', [{ ...partition, kind: 'read', units: readUnits(itemSize(item), request.ConsistentRead === true) }]);
    return answer;
  }

  private async batchGet(request: Body, forward: Forward): Promise<Answer> {
    const requestItems = (request.RequestItems ?? {}) as Record<string, KeysAndAttributes>;
    const schemas = await this.schemasOf(Object.keys(requestItems));
    if (!schemas) return forward();
    const reads = Object.entries(requestItems).flatMap(([table, spec]) =>
      (spec.Keys ?? []).map((key) => ({ table, schema: schemas.get(table)!, spec, key })),
    );
    if (reads.length === 0 || reads.some(({ schema, key }) => !keyOf(schema, key))) return forward();

    const throttled: Partition[] = [];
    const sent = reads.filter(({ schema, key }) => {
      const empty = this.buckets?.empty('read', [tablePartition(schema, key)]) ?? [];
      throttled.push(...empty);
      return empty.length === 0;
    });
    // DynamoDB API reference, "BatchGetItem": when no item can be read for lack of throughput, the call is throttled.
    if (sent.length === 0) return this.refused('BatchGetItem', 'read', [...schemas.values()], throttled);
    this.meter.throttled('BatchGetItem', throttled, false);
    const heldBack = reads.filter((read) => !sent.includes(read));
    const grouped = (keys: typeof reads) => {
      const byTable: Record<string, KeysAndAttributes & { Keys: Item[] }> = {};
      for (const { table, spec, key } of keys) (byTable[table] ??= { ...spec, Keys: [] }).Keys.push(key);
      return byTable;
    };
    const answer = heldBack.length === 0 ? await forward() : await forward({ ...request, RequestItems: grouped(sent) });
    if (answer.status !== 200) return answer;

    const responses = (answer.body.Responses ?? {}) as Record<string, Item[]>;
    const found = new Map<string, Item>();
    for (const [table, items] of Object.entries(responses)) {
      for (const item of items) {
        const key = keyOf(schemas.get(table)!, item);
        if (key) found.set(keyId(table, key), item);
      }
    }
    // DynamoDB developer guide, "DynamoDB read and write operations": each item is rounded up to 4 KB on its own.
    for (const { table, schema, spec, key } of sent) {
      const item = narrowsAttributes(spec) ? await this.upstream.getItem(table, key) : found.get(keyId(table, key));
      this.bill('BatchGetItem', [{ ...tablePartition(schema, key), kind: 'read', units: readUnits(itemSize(item), spec.ConsistentRead === true) }]);
    }
    if (heldBack.length === 0) return answer;
    this.meter.unprocessed('BatchGetItem', heldBack.length);
    return reply(200, { ...answer.body, UnprocessedKeys: grouped(heldBack) });
  }

  private async query(request: Body, forward: Forward): Promise<Answer> {
    const schema = await this.schemas.get(String(request.TableName));
    const index = schema?.indexes.find(({ name }) => name === request.IndexName);
    const keyValue = schema && queryPartitionValue(request, (index ?? schema).partitionKey);
    if (!schema || (request.IndexName !== undefined && !index) || !keyValue) return forward();
    const partition: Partition = { table: schema.name, ...(index ? { index: index.name } : {}), partitionKey: scalarText(keyValue) };
    const refused = this.refuse('Query', 'read', [schema], [partition]);
    if (refused) return refused;

    const lagging = index && (this.options.indexLagMs ?? 0) > 0 ? indexId(schema.name, index.name) : undefined;
    if (lagging && narrowsAttributes(request) && (filters(request) || request.Select === 'COUNT')) {
      return reply(400, {
        __type: VALIDATION,
        message: 'dynamo-realism: with index lag on, an index Query may project or filter its entries, not both, and not count them, so that the proxy can tell which to hide.',
      });
    }
    const answer = await forward();
    if (answer.status !== 200) return answer;

    const returned = (answer.body.Items ?? []) as Item[];
    // DynamoDB developer guide, "DynamoDB read and write operations": a Query adds up the sizes of all the items it
    // reads (filtered out or not) and rounds the sum up to 4 KB once. An entry the index does not show yet is not read.
    const read = narrowsItems(request) ? await this.readEverything('Query', request) : returned;
    // A projected entry may lack the keys that tell it apart: without a filter, the whole entries read above
    // are the returned ones, in the same order (unless a write landed in between, which is refused).
    const whole = lagging && narrowsAttributes(request) ? read : returned;
    if (whole.length !== returned.length) {
      return reply(400, { __type: VALIDATION, message: 'dynamo-realism: the index changed while a projected Query was matched up; retry it.' });
    }
    const hidden = (item: Item) => lagging !== undefined && this.lag.isHidden(lagging, keyId(schema.name, keyOf(schema, item)!));
    const bytes = sumSizes(read.filter((item) => !hidden(item)));
    this.bill('Query', [{ ...partition, kind: 'read', units: readUnits(bytes, request.ConsistentRead === true) }]);

    const visible = returned.filter((_, i) => !hidden(whole[i]!));
    if (visible.length === returned.length) return answer;
    const dropped = returned.length - visible.length;
    return reply(200, {
      ...answer.body,
      Items: visible,
      Count: Number(answer.body.Count) - dropped,
      ScannedCount: Number(answer.body.ScannedCount) - dropped,
    });
  }

  private async scan(request: Body, forward: Forward): Promise<Answer> {
    const answer = await forward();
    if (answer.status !== 200) return answer;
    const read = narrowsItems(request) ? await this.readEverything('Scan', request) : ((answer.body.Items ?? []) as Item[]);
    const index = typeof request.IndexName === 'string' ? request.IndexName : undefined;
    this.meter.scanned(String(request.TableName), index, readUnits(sumSizes(read), request.ConsistentRead === true));
    return answer;
  }

  /**
   * The items a filtered, projected or counting read went through, read again whole right
   * after it (unmetered); a write landing in between can shift the figure slightly.
   */
  private async readEverything(operation: 'Query' | 'Scan', request: Body): Promise<Item[]> {
    const { Items = [] } = await this.upstream.call<{ Items?: Item[] }>(operation, readingEverything(request));
    return Items;
  }

  private settleWrite(operation: string, schema: TableSchema, key: Item, before: Item | undefined, after: Item | undefined): void {
    this.bill(operation, writeCharges(schema, key, before, after));
    for (const change of indexChanges(schema, before, after)) {
      if (change.kind !== 'removed') this.lag.noteWrite(indexId(schema.name, change.index.name), keyId(schema.name, key));
    }
  }

  private bill(operation: string, charges: readonly Charge[]): void {
    this.meter.charge(operation, charges);
    this.buckets?.debit(charges);
  }

  /** A throttling answer if one of `partitions` is over its rate, else undefined. */
  private refuse(operation: string, kind: CapacityKind, schemas: readonly TableSchema[], partitions: readonly Partition[]): Answer | undefined {
    const empty = this.buckets?.empty(kind, partitions) ?? [];
    return empty.length > 0 ? this.refused(operation, kind, schemas, empty) : undefined;
  }

  /** DynamoDB's throttling answer, with a reason per resource as DynamoDB gives them. */
  private refused(operation: string, kind: CapacityKind, schemas: readonly TableSchema[], partitions: readonly Partition[]): Answer {
    this.meter.throttled(operation, partitions, true);
    const reasons = new Map<string, { reason: string; resource: string }>();
    for (const { table, index: indexName } of partitions) {
      const schema = schemas.find(({ name }) => name === table)!;
      const index = schema.indexes.find(({ name }) => name === indexName);
      const reason = `${index ? 'Index' : 'Table'}${kind === 'write' ? 'Write' : 'Read'}KeyRangeThroughputExceeded`;
      const resource = index?.arn ?? schema.arn;
      reasons.set(`${reason} ${resource}`, { reason, resource });
    }
    return reply(400, { __type: THROTTLED, message: THROTTLED_MESSAGE, ThrottlingReasons: [...reasons.values()] });
  }

  private async schemasOf(tableNames: readonly string[]): Promise<Map<string, TableSchema> | undefined> {
    const schemas = await Promise.all(tableNames.map((name) => this.schemas.get(name)));
    if (schemas.some((schema) => !schema)) return undefined;
    return new Map(schemas.map((schema) => [schema!.name, schema!]));
  }
}

/**
 * The partitions a write will charge: its item's table partition, and each index partition its
 * entry is in before or will be in after. DynamoDB throttles the table write when an index
 * partition it would write to is over its rate (DynamoDB developer guide, "Key range throughput
 * exceeded (hot partitions)").
 */
function writePartitions(schema: TableSchema, key: Item, before: Item | undefined, after: Item | undefined): Partition[] {
  const partitions = new Map<string, Partition>();
  const add = (partition: Partition) => partitions.set(`${partition.index ?? ''}\u0000${partition.partitionKey}`, partition);
  add(tablePartition(schema, key));
  for (const index of schema.indexes) {
    for (const item of [before, after]) {
      const entry = indexEntry(schema, index, item);
      if (entry) add(indexPartition(schema, index, entry));
    }
  }
  return [...partitions.values()];
}

/** The item as the write will leave it, as far as its index keys go: enough to know which index partitions it writes. */
function predictedAfter(operation: WriteOperation, request: Body, schema: TableSchema, key: Item, before: Item | undefined): Item | undefined {
  if (operation === 'PutItem') return request.Item as Item;
  if (operation === 'DeleteItem') return undefined;
  const after: Item = { ...before, ...key };
  for (const name of new Set(schema.indexes.flatMap((index) => keyAttributes(index)))) {
    const value = valueAfterUpdate(request, name, before);
    if (value) after[name] = value;
    else delete after[name];
  }
  return after;
}

function checked(options: RealismOptions): RealismOptions {
  const { throttle, indexLagMs = 0, unprocessedFraction = 0 } = options;
  if (throttle && !(throttle.scale > 0)) throw new RangeError(`throttle.scale must be above 0, got ${throttle.scale}`);
  if (!(indexLagMs >= 0)) throw new RangeError(`indexLagMs must be 0 or more, got ${indexLagMs}`);
  if (!(unprocessedFraction >= 0 && unprocessedFraction <= 1)) {
    throw new RangeError(`unprocessedFraction must be between 0 and 1, got ${unprocessedFraction}`);
  }
  return options;
}

