/**
 * The store behind the proxy (dynalite), over plain HTTP: requests forwarded
 * byte for byte, and the proxy's own unmetered calls (DescribeTable, and the
 * reads that tell what a write found and left).
 */
import { Agent, request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { errorName, type Body, type Item } from './wire';

export interface WireResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** An error answer from upstream to one of the proxy's own calls. */
export class UpstreamError extends Error {
  override name = 'UpstreamError';
  constructor(
    readonly status: number,
    readonly body: Body,
  ) {
    super(`${errorName(body) ?? 'Error'} (${status}): ${String(body.message ?? '')}`);
  }
}

// dynalite checks that a request is signed, not the signature.
const OWN_CALL_HEADERS = {
  'content-type': 'application/x-amz-json-1.0',
  authorization: 'AWS4-HMAC-SHA256 Credential=realism/20200101/local/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
  'x-amz-date': '20200101T000000Z',
};

export class Upstream {
  private readonly url: URL;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });

  constructor(endpoint: string) {
    this.url = new URL(endpoint);
  }

  send(method: string, path: string, headers: OutgoingHttpHeaders, body: Buffer): Promise<WireResponse> {
    return new Promise((resolve, reject) => {
      const outgoing = request(
        { host: this.url.hostname, port: this.url.port, method, path, headers: { ...headers, host: this.url.host }, agent: this.agent },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 500, headers: response.headers, body: Buffer.concat(chunks) }));
          response.on('error', reject);
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }

  /** One of the proxy's own calls; an error answer throws UpstreamError. */
  async call<T>(operation: string, input: Body): Promise<T> {
    const body = Buffer.from(JSON.stringify(input));
    const headers = { ...OWN_CALL_HEADERS, 'x-amz-target': `DynamoDB_20120810.${operation}`, 'content-length': body.length };
    const response = await this.send('POST', '/', headers, body);
    const answer = JSON.parse(response.body.toString('utf8') || '{}') as Body;
    if (response.status !== 200) throw new UpstreamError(response.status, answer);
    return answer as T;
  }

  /** The whole item as stored now, or undefined. */
  async getItem(tableName: string, key: Item): Promise<Item | undefined> {
    const { Item } = await this.call<{ Item?: Item }>('GetItem', { TableName: tableName, Key: key, ConsistentRead: true });
    return Item;
  }

  close(): void {
    this.agent.destroy();
  }
}
