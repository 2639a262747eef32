/**
 * Builds what API Gateway (HTTP API, payload v2) and the Lambda runtime hand
 * to a handler, so the local server and the tests call the real handlers the
 * way AWS does. Hand-written: no maintained library builds v2 events.
 */
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';

export interface HttpRequestLike {
  method: string;
  /** Path with optional query string, as on the request line. */
  url: string;
  headers?: Record<string, string | string[] | undefined>;
  body?: string;
  sourceIp?: string;
}

export function buildHttpEvent(request: HttpRequestLike, routeKey: string): APIGatewayProxyEventV2 {
  // Split, not parsed as a URL: the path reaches the handler exactly as sent, as API Gateway passes it.
  const queryAt = request.url.indexOf('?');
  const rawPath = queryAt === -1 ? request.url : request.url.slice(0, queryAt);
  const rawQueryString = queryAt === -1 ? '' : request.url.slice(queryAt + 1);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    // API Gateway joins repeated headers with commas.
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  // No prototype: on a plain object `?__proto__=x` would vanish instead of reaching the
  // handler as an unknown parameter, as it does in Lambda (whose event is parsed JSON).
  const query: Record<string, string> = Object.create(null);
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    // API Gateway joins repeated query parameters with commas: ?limit=1&limit=2 → "1,2".
    query[name] = name in query ? `${query[name]},${value}` : value;
  }
  const now = new Date();
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString,
    headers,
    queryStringParameters: Object.keys(query).length ? query : undefined,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'localhost',
      http: {
        method: request.method.toUpperCase(),
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: request.sourceIp ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    body: request.body === undefined || request.body === '' ? undefined : request.body,
    isBase64Encoded: false,
  };
}

/** A Lambda context whose remaining time counts down from the function's timeout, as in Lambda. */
export function buildLambdaContext(functionName: string, timeoutSeconds: number): Context {
  const deadline = Date.now() + timeoutSeconds * 1000;
  const requestId = randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
