/**
 * The local stand-in for API Gateway (HTTP API, payload v2) in front of the
 * real handlers: it serves the route table (shared/routes.ts), turns each
 * request into the event and context AWS would pass, and the handler's
 * result back into an HTTP response. Plain node:http: the adapter is thin
 * and a framework would add a second routing table that could drift.
 * It also serves the contract as OpenAPI 3.1 at /openapi.json and, when
 * given them, local-only pages such as the console (infra/local/console/).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { resolve } from 'node:path';
import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { buildOpenApiDocument, type OpenApiDocument } from '../../shared/openapi';
import { ROUTES, type Route } from '../../shared/routes';
import { PROJECT_ROOT } from '../bundling';
import { buildHttpEvent, buildLambdaContext } from './lambda-event';

/** Request bodies above this get 413 without reaching a handler. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Where the contract is served as OpenAPI 3.1: by this adapter only, it is no Lambda route. */
export const OPENAPI_PATH = '/openapi.json';

export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

/** Answers a GET on one local-only path: no Lambda route, nothing API Gateway serves. */
export type LocalPage = (response: ServerResponse) => Promise<void>;

export interface LocalServerOptions {
  /** 0 picks a free port. */
  port: number;
  /** Loopback only: the local server is for this machine. */
  host?: '127.0.0.1' | '::1' | 'localhost';
  /** The route table to serve (the same one the CDK stack deploys). */
  routes?: readonly Route[];
  /** How a route's handler is loaded; tests swap in their own. Default: the `handler` export of `route.entry`. */
  loadHandler?: (route: Route) => Promise<LambdaHandler>;
  /** Where the one line per request goes (default stdout). */
  log?: (line: string) => void;
  /** Where unexpected handler failures are reported (default stderr). */
  logError?: (message: string, error: unknown) => void;
  /** Local-only GET paths served beside the routes (the console), matched on the raw path exactly like them. */
  localPages?: ReadonlyMap<string, LocalPage>;
}

export interface LocalServer {
  url: string;
  port: number;
  host: string;
  close(): Promise<void>;
}


/** Imports the real handler module named by the route table. */
export async function importRouteHandler(route: Route): Promise<LambdaHandler> {
  const module = (await import(resolve(PROJECT_ROOT, route.entry))) as { handler?: LambdaHandler };
  if (typeof module.handler !== 'function') throw new Error(`${route.entry} does not export a handler`);
  return module.handler;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

export async function createLocalServer(options: LocalServerOptions): Promise<LocalServer> {
  const host = options.host ?? '127.0.0.1';
  // The type already says so; this guards callers that pass a string from the environment.
  if (!LOOPBACK_HOSTS.has(host)) throw new Error(`The local server listens on loopback only, not on ${host}`);
  const routes = options.routes ?? ROUTES;
  const loadHandler = options.loadHandler ?? importRouteHandler;
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const logError =
    options.logError ?? ((message: string, error: unknown) => console.error(message, error));

  // Loaded once, like a warm Lambda container; a handler module that fails to load fails startup.
  const handlers = new Map<Route, LambdaHandler>();
  for (const route of routes) handlers.set(route, await loadHandler(route));
  // Built on first request, once the port (the document's server url) is known.
  let openApiDocument: OpenApiDocument | undefined;

  const server = createServer((request, response) => {
    const started = performance.now();
    response.on('finish', () => {
      log(`${request.method} ${request.url} ${response.statusCode} ${Math.round(performance.now() - started)}ms`);
    });
    serve(request, response).catch((error: unknown) => {
      logError(`${request.method} ${request.url} failed in the handler:`, error);
      if (!response.headersSent && !response.destroyed) sendJson(response, 500, errorBody('internal_error', 'Something went wrong on our side.'));
      else response.destroy();
    });
  });
  server.on('clientError', answerClientError);

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // The raw path exactly, as API Gateway routes: URL parsing would read "//host/…" as a host and "\\" as "/".
    const path = rawPathOf(request.url ?? '/');
    if (request.method === 'GET' && path === OPENAPI_PATH) {
      request.resume();
      openApiDocument ??= buildOpenApiDocument({ serverUrl: baseUrl(server.address() as AddressInfo) });
      sendJson(response, 200, openApiDocument);
      return;
    }
    const localPage = request.method === 'GET' ? options.localPages?.get(path) : undefined;
    if (localPage) {
      request.resume();
      await localPage(response);
      return;
    }
    const route = routes.find((r) => r.method === request.method && r.path === path);
    // API Gateway answers any method/path pair without a route with 404 (HTTP APIs have no 405).
    if (!route) {
      request.resume();
      sendJson(response, 404, errorBody('route_not_found', `No route for ${request.method} ${path}.`));
      return;
    }

    const body = await readBody(request, MAX_BODY_BYTES);
    if (body === CLIENT_GONE) {
      // Nobody is left to answer: one line, not a stack trace, and nothing written to the dead socket.
      log(`${request.method} ${path}: the client closed the connection before the whole body arrived`);
      response.destroy();
      return;
    }
    if (body === TOO_LARGE) {
      // Stop reading and close the connection: the client gets its answer, the rest is never buffered.
      response.setHeader('connection', 'close');
      sendJson(response, 413, errorBody('payload_too_large', `The request body is over ${MAX_BODY_BYTES} bytes.`));
      response.on('finish', () => request.destroy());
      return;
    }

    const event = buildHttpEvent(
      {
        method: request.method ?? 'GET',
        url: request.url ?? '/',
        headers: request.headers,
        body: body.toString('utf8'),
        sourceIp: request.socket.remoteAddress,
      },
      `${route.method} ${route.path}`,
    );
    const handler = handlers.get(route) as LambdaHandler;
    const result = await handler(event, buildLambdaContext(route.name, route.timeoutSeconds));
    sendResult(response, result);
  }

  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(options.port, host, () => {
      server.off('error', rejectListen);
      resolveListen();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    url: baseUrl(address),
    port: address.port,
    host: address.address,
    close: () =>
      new Promise<void>((resolveClose, rejectClose) => {
        server.close((error) => (error ? rejectClose(error) : resolveClose()));
        // In-flight requests finish; idle keep-alive connections would otherwise hold close() open.
        server.closeIdleConnections();
      }),
  };
}

const baseUrl = (address: AddressInfo) =>
  `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;

const TOO_LARGE = Symbol('too large');
const CLIENT_GONE = Symbol('client gone');

/** The request target up to its query string, as sent. */
export const rawPathOf = (target: string): string => target.split('?', 1)[0]!;

/**
 * Node's default answer to a request it cannot parse, except when the client
 * closed its side mid-request: then nobody reads an answer, so none is written.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'HPE_INVALID_EOF_STATE' || error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status =
    error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
}

/**
 * Reads the whole body, or stops at the first byte past the cap (also when no
 * content-length was sent), or tells that the client went away mid-body. Events, not `for await`: leaving that loop early
 * would destroy the socket before the 413 is written.
 */
function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer | typeof TOO_LARGE | typeof CLIENT_GONE> {
  if (Number(request.headers['content-length']) > maxBytes) return Promise.resolve(TOO_LARGE);
  return new Promise((resolveBody) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total <= maxBytes) return void chunks.push(chunk);
      request.off('data', onData).off('end', onEnd).pause();
      resolveBody(TOO_LARGE);
    };
    const onEnd = () => resolveBody(Buffer.concat(chunks));
    // Resolving twice is harmless: whichever of end, error or close comes first decides.
    const onGone = () => resolveBody(CLIENT_GONE);
    request.on('data', onData).on('end', onEnd).once('error', onGone).once('close', () => request.complete || onGone());
  });
}

/**
 * Turns a handler's result into a response the way API Gateway's payload v2
 * does: a result with a statusCode is used as is, anything else is a 200
 * whose body is the result as JSON.
 */
function sendResult(response: ServerResponse, result: unknown): void {
  const structured = result as APIGatewayProxyStructuredResultV2 | undefined;
  if (!structured || typeof structured !== 'object' || typeof structured.statusCode !== 'number') {
    sendJson(response, 200, result ?? null);
    return;
  }
  for (const [name, value] of Object.entries(structured.headers ?? {})) response.setHeader(name, String(value));
  if (structured.cookies?.length) response.setHeader('set-cookie', structured.cookies);
  if (!response.hasHeader('content-type')) response.setHeader('content-type', 'application/json');
  const body = structured.body ?? '';
  response.statusCode = structured.statusCode;
  response.end(structured.isBase64Encoded ? Buffer.from(body, 'base64') : body);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

const errorBody = (code: string, message: string) => ({ error: { code, message } });
