/**
 * SDK middleware the benchmark attaches to a DocumentClient: it records the
 * exact wire requests, to prove the direct script sends what the handler sends.
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
