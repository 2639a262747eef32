/**
 * The local console's paths for the local server: its static files, the
 * browser builds of the libraries it uses (served from node_modules, so it
 * works with no network and no build step), and the one thing the API has no
 * route for, the list of batches, read through the data layer. Sessions and
 * pages the console reads through the page handler, like any client.
 */
import { readFile, stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { pagingStore } from '../../../shared/data/dynamo-store';
import { DynamoBatchRecords } from '../../../shared/data/batch-records';
import { listBatches } from '../../../shared/domain/batches';
import type { BatchSummary } from '../../../shared/domain/model';
import { DEMO_SESSION_IDS } from '../demo-data';
import type { LocalPage } from '../server';

/** Where the console is opened. */
export const CONSOLE_PATH = '/';

/** The batch list: a local-only JSON route, no Lambda route. */
export const BATCHES_PATH = '/console/api/batches';

/** What BATCHES_PATH answers. */
export interface BatchList {
  /** Oldest first, as the data layer lists them. */
  batches: BatchSummary[];
  /** A demo session with a click, for the empty state's "how to get a batch". */
  demo_session_id: string;
}

const HERE = __dirname;
const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/**
 * Every file the console serves, by its exact path: a fixed table, so no
 * request path ever becomes a file path. chart.js exports no subpaths: its
 * browser build sits beside its main entry.
 */
const FILES: ReadonlyArray<{ path: string; file: string; type: string }> = [
  { path: CONSOLE_PATH, file: join(HERE, 'index.html'), type: 'text/html; charset=utf-8' },
  { path: '/console/console.css', file: join(HERE, 'console.css'), type: CSS },
  { path: '/console/console.js', file: join(HERE, 'console.js'), type: JS },
  { path: '/console/data.js', file: join(HERE, 'data.js'), type: JS },
  { path: '/console/dom.js', file: join(HERE, 'dom.js'), type: JS },
  { path: '/console/vendor/chart.umd.js', file: join(dirname(require.resolve('chart.js')), 'chart.umd.js'), type: JS },
  { path: '/console/vendor/swagger-ui-bundle.js', file: require.resolve('swagger-ui-dist/swagger-ui-bundle.js'), type: JS },
  { path: '/console/vendor/swagger-ui.css', file: require.resolve('swagger-ui-dist/swagger-ui.css'), type: CSS },
];

/**
 * Scripts from this server only, so a query or meta that slipped into markup
 * could still not run; styles may be inline (Swagger UI sets some), images
 * may be data: URLs (Swagger UI's icons).
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The console's paths, for `createLocalServer({ localPages })`. Call it once
 * TABLE_NAME and DYNAMODB_ENDPOINT are set: the batch list reads the store the
 * handlers use. A missing file fails here, at startup, not on a request.
 */
export async function createConsolePages(): Promise<Map<string, LocalPage>> {
  await Promise.all(FILES.map(({ file }) => stat(file)));
  const pages = new Map<string, LocalPage>();
  // Read on each request: an edit to the console shows on reload, without a restart.
  for (const { path, file, type } of FILES) pages.set(path, async (response) => send(response, type, await readFile(file)));
  const batches = await batchLister();
  pages.set(BATCHES_PATH, async (response) => {
    const body: BatchList = { batches: await batches(), demo_session_id: DEMO_SESSION_IDS.ps4 };
    send(response, 'application/json', Buffer.from(JSON.stringify(body)));
  });
  return pages;
}

/** listBatches on the handlers' own store and client, plus the batch records no handler reads. */
async function batchLister(): Promise<() => Promise<BatchSummary[]>> {
  // Imported here, not at the top: the store reads TABLE_NAME when its module loads.
  const { table, documentClient } = await import('../../../shared/data/store-from-env');
  const store = pagingStore(table);
  const records = new DynamoBatchRecords(documentClient, table.tableName);
  return () =>
    listBatches({
      readPointer: () => store.readPointer(),
      readBatchRecords: (batchIds) => records.readBatchRecords(batchIds),
    });
}

function send(response: ServerResponse, type: string, body: Buffer): void {
  response.writeHead(200, {
    'content-type': type,
    'content-length': body.length,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    ...(type.startsWith('text/html') ? { 'content-security-policy': CONTENT_SECURITY_POLICY } : {}),
  });
  response.end(body);
}
