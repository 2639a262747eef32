/**
 * What the proxy does with each DynamoDB operation on its way to dynalite:
 * meters it as DynamoDB bills it. Operations it does not know pass through
 * unmetered.
 */
import { readUnits, tablePartition, writeCharges, type Charge, type Partition } from './capacity';
import { narrowsAttributes, narrowsItems, queryPartitionValue, readingEverything } from './expressions';
import { ItemLocks } from './item-locks';
import { itemSize } from './item-size';
import { CapacityMeter } from './meter';
import { keyId, keyOf, scalarText, SchemaCache, type TableDescription, type TableSchema } from './table-schema';
import { Upstream, UpstreamError, type WireResponse } from './upstream';
import { errorName, type Body, type Item } from './wire';

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

const sumSizes = (items: readonly Item[]): number => items.reduce((sum, item) => sum + itemSize(item), 0);

export class Realism {
  readonly meter = new CapacityMeter();
  private readonly schemas: SchemaCache;
  private readonly locks = new ItemLocks();

  constructor(private readonly upstream: Upstream) {
    this.schemas = new SchemaCache((tableName) =>
      upstream.call<TableDescription>('DescribeTable', { TableName: tableName }).catch((error: unknown) => {
        if (error instanceof UpstreamError && errorName(error.body) === 'ResourceNotFoundException') return undefined;
        throw error;
      }),
    );
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
      const answer = await forward();
      if (answer.status !== 200) return answer;
      // DynamoDB developer guide, "DynamoDB read and write operations": each request is billed as its own PutItem or DeleteItem.
      for (const { schema, write, key, before } of pending) this.settleWrite('BatchWriteItem', schema, key, before, write.PutRequest?.Item);
      return answer;
    });
  }

  private async getItem(request: Body, forward: Forward): Promise<Answer> {
    const schema = await this.schemas.get(String(request.TableName));
    const key = request.Key as Item | undefined;
    if (!schema || !key || !keyOf(schema, key)) return forward();
    const answer = await forward();
    if (answer.status !== 200) return answer;
    // DynamoDB developer guide, "DynamoDB read and write operations": a projection does not lower the cost.
    const item = narrowsAttributes(request) ? await this.upstream.getItem(schema.name, key) : (answer.body.Item as Item | undefined);
    this.bill('GetItem', [{ ...tablePartition(schema, key), kind: 'read', units: readUnits(itemSize(item), request.ConsistentRead === true) }]);
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

    const answer = await forward();
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
    for (const { table, schema, spec, key } of reads) {
      const item = narrowsAttributes(spec) ? await this.upstream.getItem(table, key) : found.get(keyId(table, key));
      this.bill('BatchGetItem', [{ ...tablePartition(schema, key), kind: 'read', units: readUnits(itemSize(item), spec.ConsistentRead === true) }]);
    }
    return answer;
  }

  private async query(request: Body, forward: Forward): Promise<Answer> {
    const schema = await this.schemas.get(String(request.TableName));
    const index = schema?.indexes.find(({ name }) => name === request.IndexName);
    const keyValue = schema && queryPartitionValue(request, (index ?? schema).partitionKey);
    if (!schema || (request.IndexName !== undefined && !index) || !keyValue) return forward();
    const partition: Partition = { table: schema.name, ...(index ? { index: index.name } : {}), partitionKey: scalarText(keyValue) };
    const answer = await forward();
    if (answer.status !== 200) return answer;

    // DynamoDB developer guide, "DynamoDB read and write operations": a Query adds up the sizes of all the items it
    // reads (filtered out or not) and rounds the sum up to 4 KB once.
    const read = narrowsItems(request) ? await this.readEverything('Query', request) : ((answer.body.Items ?? []) as Item[]);
    this.bill('Query', [{ ...partition, kind: 'read', units: readUnits(sumSizes(read), request.ConsistentRead === true) }]);
    return answer;
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
  }

  private bill(operation: string, charges: readonly Charge[]): void {
    this.meter.charge(operation, charges);
  }

  private async schemasOf(tableNames: readonly string[]): Promise<Map<string, TableSchema> | undefined> {
    const schemas = await Promise.all(tableNames.map((name) => this.schemas.get(name)));
    if (schemas.some((schema) => !schema)) return undefined;
    return new Map(schemas.map((schema) => [schema!.name, schema!]));
  }
}
