/**
 * The DynamoDB realism proxy: an HTTP server on 127.0.0.1 in front of dynalite
 * that speaks DynamoDB's JSON 1.0 protocol, so an SDK client pointed at it runs
 * its own retries against what the proxy answers. For tests and the benchmark
 * only: nothing under functions/, shared/ or infra/ may import it.
 *
 *   const proxy = await startRealismProxy({ target: process.env.DYNAMODB_ENDPOINT!, throttle: { scale: 1 / 100 } });
 *   const db = createDocumentClient({ endpoint: proxy.endpoint });
 *   …
 *   proxy.meter.hottest('write'); // { table, index?, partitionKey, wcu, rcu, throttled }
 *   await proxy.close();
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';
import type { MeterReadings } from './meter';
import { Realism, type Answer, type RealismOptions } from './realism';
import { Upstream, UpstreamError, type WireResponse } from './upstream';
import type { Body } from './wire';

export type { RealismOptions } from './realism';
export type { MeterReadings, OperationUsage, PartitionUsage, ScanUsage } from './meter';
export type { Partition } from './capacity';

export interface RealismProxyOptions extends RealismOptions {
  /** The DynamoDB-compatible endpoint behind the proxy, e.g. dynalite's `http://127.0.0.1:PORT`. */
  target: string;
}

export interface RealismProxy {
  /** Where to point a DynamoDB client, e.g. `createDocumentClient({ endpoint })`. */
  endpoint: string;
  meter: MeterReadings;
  setOptions(options: RealismOptions): void;
  close(): Promise<void>;
}

const TARGET_PREFIX = 'DynamoDB_20120810.';
// Hop-by-hop headers, and the ones recomputed for the bytes actually sent.
const NOT_COPIED = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'content-length']);

export async function startRealismProxy({ target, ...options }: RealismProxyOptions): Promise<RealismProxy> {
  const upstream = new Upstream(target);
  const realism = new Realism(upstream, options);
  const server = createServer((request, response) => {
    serve(realism, upstream, request, response).catch((error: unknown) => response.destroy(error as Error));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    meter: realism.meter,
    setOptions: (next) => realism.setOptions(next),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
      upstream.close();
    },
  };
}

async function serve(realism: Realism, upstream: Upstream, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const received = Buffer.concat(chunks);
  const headers = copyHeaders(request.headers);
  let forwarded = false;
  const send = (body: Buffer) => {
    forwarded = true;
    return upstream.send(request.method ?? 'POST', request.url ?? '/', { ...headers, 'content-length': body.length }, body);
  };

  const target = request.headers['x-amz-target'];
  const operation = typeof target === 'string' && target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : undefined;
  const parsed = operation === undefined ? undefined : parseBody(received);
  // Not a DynamoDB request the proxy can read (a health check, bad JSON): upstream answers it as it would.
  if (!operation || !parsed) return writeWire(response, await send(received));

  try {
    const answer = await realism.handle(operation, parsed, async (replacement?: Body) => {
      const wire = await send(replacement ? Buffer.from(JSON.stringify(replacement)) : received);
      return { status: wire.status, body: parseBody(wire.body) ?? {}, wire };
    });
    writeAnswer(response, answer);
  } catch (error) {
    // One of the proxy's own reads was refused (an invalid key, say) before anything was sent:
    // upstream refuses the request itself for the same reason, and DynamoDB bills no invalid request.
    if (error instanceof UpstreamError && !forwarded) return writeWire(response, await send(received));
    writeAnswer(response, {
      status: 500,
      body: { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: `dynamo-realism proxy failed: ${String(error)}` },
    });
  }
}

function parseBody(bytes: Buffer): Body | undefined {
  try {
    const body: unknown = JSON.parse(bytes.toString('utf8') || '{}');
    return body && typeof body === 'object' && !Array.isArray(body) ? (body as Body) : undefined;
  } catch {
    return undefined;
  }
}

function copyHeaders(headers: IncomingMessage['headers']): OutgoingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !NOT_COPIED.has(name)));
}

function writeWire(response: ServerResponse, wire: WireResponse): void {
  response.writeHead(wire.status, { ...copyHeaders(wire.headers), 'content-length': wire.body.length });
  response.end(wire.body);
}

/** Upstream's answer as it came, or the proxy's own with the headers DynamoDB sends. */
function writeAnswer(response: ServerResponse, answer: Answer): void {
  if (answer.wire) return writeWire(response, answer.wire);
  const body = Buffer.from(JSON.stringify(answer.body));
  response.writeHead(answer.status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': body.length,
    'x-amzn-requestid': randomBytes(26).toString('hex').toUpperCase(),
    'x-amz-crc32': String(crc32(body)),
  });
  response.end(body);
}
