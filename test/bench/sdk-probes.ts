/**
 * SDK middleware the benchmark attaches to a DocumentClient: one records the
 * exact wire requests (to prove the direct script sends what the handler
 * sends), one asks DynamoDB for ReturnConsumedCapacity TOTAL on every call
 * and adds up what it reports.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface RecordedRequest {
  operation: string;
  /** The JSON body sent on the wire, with keys sorted so two requests compare as text. */
  body: string;
}

export interface Probe<T> {
  readonly results: T[];
  detach(): void;
}

let probeCount = 0;

export function recordRequests(client: DynamoDBDocumentClient): Probe<RecordedRequest> {
  const name = `benchRecordRequests${probeCount++}`;
  const results: RecordedRequest[] = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: string | Uint8Array };
      const target = request.headers?.['x-amz-target'] ?? '';
      const body = typeof request.body === 'string' ? request.body : new TextDecoder().decode(request.body);
      results.push({ operation: target.split('.').pop() ?? target, body: canonicalJson(body) });
      return next(args);
    },
    { step: 'build', name },
  );
  return { results, detach: () => void client.middlewareStack.remove(name) };
}

/** Sorted multiset of requests: two runs of the same page compare equal whatever order the calls went in. */
export const requestSet = (requests: readonly RecordedRequest[]) =>
  requests.map((r) => `${r.operation} ${r.body}`).sort();

function canonicalJson(text: string): string {
  const sortKeys = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(sortKeys)
      : value && typeof value === 'object'
        ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, sortKeys(v)]))
        : value;
  return JSON.stringify(sortKeys(JSON.parse(text || '{}')));
}

export interface CapacityUse {
  operation: string;
  /** Capacity units DynamoDB (here dynalite) reported for the call. */
  units: number;
  kind: 'read' | 'write';
}

const READ_OPERATIONS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem']);

export function measureCapacity(client: DynamoDBDocumentClient): Probe<CapacityUse> {
  const name = `benchConsumedCapacity${probeCount++}`;
  const results: CapacityUse[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      (args.input as { ReturnConsumedCapacity?: string }).ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      const operation = (context.commandName ?? '').replace(/Command$/, '').replace(/^(Get|Put|Update|Delete|BatchGet|BatchWrite)$/, '$1Item');
      const reported = (result.output as { ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[] })
        .ConsumedCapacity;
      const units = [reported ?? []].flat().reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
      results.push({ operation, units, kind: READ_OPERATIONS.has(operation) ? 'read' : 'write' });
      return result;
    },
    { step: 'initialize', name },
  );
  return { results, detach: () => void client.middlewareStack.remove(name) };
}

/** Read and write units of a set of calls, and how many calls of each operation. */
export function summarizeCapacity(uses: readonly CapacityUse[]) {
  const calls: Record<string, number> = {};
  for (const use of uses) calls[use.operation] = (calls[use.operation] ?? 0) + 1;
  const sum = (kind: CapacityUse['kind']) => uses.filter((u) => u.kind === kind).reduce((s, u) => s + u.units, 0);
  return { readUnits: sum('read'), writeUnits: sum('write'), calls };
}
