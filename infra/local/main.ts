/**
 * `npm start`: the service on this machine, with no AWS account. Starts the
 * embedded store (dynalite, persisted under $DATA_DIR), creates the table
 * from the stack's definition, seeds demo data into an empty store, starts
 * the embedded S3 server (s3rver, under $DATA_DIR/s3) with the export and
 * ingest buckets, and serves the route table's handlers and the console on
 * 127.0.0.1:$PORT until Ctrl-C.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createDocumentClient } from '../../shared/data/client';
import { SessionWriter } from '../../shared/data/session-writer';
import { createS3Client } from '../../shared/s3-client';
import { countSessions } from '../../shared/data/session-count';
import { ROUTES, type Route } from '../../shared/routes';
import { CONSOLE_PATH, createConsolePages } from './console/pages';
import { DEMO_SESSION_IDS, seedDemoDataIfEmpty } from './demo-data';
import { describeSkipped, type UbiImportReport } from '../../shared/ingest/ubi';
import { LOCAL_BUCKETS, LOCAL_DEFAULTS, portFromEnv } from './local-config';
import { startLocalS3, type LocalS3 } from './local-s3';
import { ensureTable, startLocalStore, type LocalStore } from './local-store';
import { createLocalServer, OPENAPI_PATH, type LocalServer } from './server';

/** How long a clean shutdown may take before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 10_000;
/** A second signal sooner than this after the first is the same Ctrl-C delivered twice. */
const DUPLICATE_SIGNAL_MS = 1_000;

async function main(): Promise<void> {
  const port = portFromEnv('PORT', LOCAL_DEFAULTS.port);
  const dynamodbPort = portFromEnv('DYNAMODB_PORT', LOCAL_DEFAULTS.dynamodbPort);
  const s3Port = portFromEnv('S3_PORT', LOCAL_DEFAULTS.s3Port);
  const dataDir = resolve(process.env.DATA_DIR || LOCAL_DEFAULTS.dataDir);
  const tableName = process.env.TABLE_NAME || LOCAL_DEFAULTS.tableName;

  // Powertools reads these when the handler modules load: keep the terminal to
  // one line per request unless asked otherwise (POWERTOOLS_LOG_LEVEL=INFO shows
  // the handlers' structured logs; POWERTOOLS_METRICS_DISABLED=false prints EMF metrics).
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  // The lockfile pins SDK versions that support Node 20; their notice about later ones is noise.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

  mkdirSync(dataDir, { recursive: true });
  // dynalite opens its LevelDB lazily and throws from a request callback when it cannot
  // (most often: another `npm start` holds DATA_DIR); say so instead of printing its stack.
  const storeFailed = (error: Error) => {
    process.stderr.write(
      /database is (closed|not open)/i.test(error.message)
        ? `Cannot open the store in ${dataDir} (${error.message}). Is another \`npm start\` using it? Stop it or set DATA_DIR.\n`
        : `${error.stack ?? String(error)}\n`,
    );
    process.exit(1);
  };
  process.once('uncaughtException', storeFailed);
  const store = await startLocalStore({ port: dynamodbPort, path: dataDir }).catch((error: unknown) => {
    throw startupError(error, `the embedded store on 127.0.0.1:${dynamodbPort}`, 'DYNAMODB_PORT');
  });

  let server: LocalServer | undefined;
  let s3: LocalS3 | undefined;
  try {
    // The handler modules read these at load, so they are set before the server imports them.
    process.env.DYNAMODB_ENDPOINT = store.endpoint;
    process.env.TABLE_NAME = tableName;

    // The port first: a busy PORT must fail the start before the table is made or the demo data seeded.
    // (A request in the second or so until the banner may find the store still being seeded.)
    server = await createLocalServer({ port, localPages: await createConsolePages() }).catch((error: unknown) => {
      throw startupError(error, `the API on 127.0.0.1:${port}`, 'PORT');
    });
    s3 = await startLocalS3({ port: s3Port, directory: join(dataDir, 's3'), buckets: LOCAL_BUCKETS }).catch((error: unknown) => {
      throw startupError(error, `the embedded S3 server on 127.0.0.1:${s3Port}`, 'S3_PORT');
    });
    await ensureTable(store.endpoint, tableName);
    const { seeded, sessions } = await seedAndCount(store.endpoint, tableName);
    process.off('uncaughtException', storeFailed);
    // Loaded now, not at the top: it loads Powertools, which reads the variables set above.
    const { ingestLocally } = await import('./local-ingest');
    const ingest = ingestLocally({
      server: s3,
      bucket: LOCAL_DEFAULTS.ingestBucket,
      s3: createS3Client({ endpoint: s3.endpoint }),
      writer: new SessionWriter(createDocumentClient({ endpoint: store.endpoint }), tableName),
      print: (line) => process.stdout.write(`${line}\n`),
    });
    printBanner({ server, store, s3, tableName, dataDir, seeded, sessions });
    await ingest.catchUp();
  } catch (error) {
    await server?.close();
    await s3?.close();
    await store.close();
    throw error;
  }
  stopOnSignals(server, store, s3);
}

/** Seeds the demo data into an empty store, then counts the sessions the store holds. */
async function seedAndCount(endpoint: string, tableName: string) {
  const db = createDocumentClient({ endpoint });
  try {
    const seeded = await seedDemoDataIfEmpty(db, tableName);
    return { seeded, sessions: await countSessions(db, tableName) };
  } finally {
    db.destroy();
  }
}

/** One ready-to-paste request per route, on the demo data (typed by route name, so a new route needs one). */
const EXAMPLES: Record<Route['name'], { query?: string; body?: object }> = {
  ScheduleSession: { body: { session_id: DEMO_SESSION_IDS.ps4 } },
  GetBatchPage: { query: 'batch_id=000001&limit=10' },
  ReleaseBatch: { body: { release_id: 'demo-release-1' } },
};

function curlFor(baseUrl: string, route: Route): string {
  const { query, body } = EXAMPLES[route.name];
  const url = `${baseUrl}${route.path}${query ? `?${query}` : ''}`;
  if (route.method === 'GET') return `curl -s '${url}'`;
  return `curl -s -X ${route.method} ${url} -H 'content-type: application/json' -d '${JSON.stringify(body)}'`;
}

interface BannerInfo {
  server: LocalServer;
  store: LocalStore;
  s3: LocalS3;
  tableName: string;
  dataDir: string;
  seeded: UbiImportReport | undefined;
  sessions: number;
}

function printBanner({ server, store, s3, tableName, dataDir, seeded, sessions }: BannerInfo) {
  const lines = [
    '',
    `Session improvement service, local: ${server.url}`,
    `  Console:  ${server.url}${CONSOLE_PATH}  (batches, sessions, click-through by position, API reference)`,
    `  OpenAPI:  ${server.url}${OPENAPI_PATH}`,
    `  Data:     ${dataDir} (dynalite at ${store.endpoint}, table "${tableName}")`,
    `  S3:       ${s3.endpoint} (path-style, any credentials; buckets ${LOCAL_BUCKETS.map((b) => `"${b}"`).join(', ')}; objects under ${join(dataDir, 's3')})`,
    `  Sessions: ${sessions} in the store`,
    seeded
      ? `Seeded the empty store with the UBI demo data: ${seeded.sessions} sessions, ${seeded.events} events; ${describeSkipped(seeded.skipped)}.`
      : 'Existing data kept.',
    'Try:',
    ...ROUTES.map((route) => `  ${curlFor(server.url, route)}`),
    `Release, export and announce the collecting batch: npm run workflow (the export goes to s3://${LOCAL_DEFAULTS.exportBucket}/batches/<batch_id>/)`,
    `Import an object: put it under s3://${LOCAL_DEFAULTS.ingestBucket}/incoming/jsonl/ (or incoming/ubi/), e.g.`,
    `  aws s3 cp sessions.jsonl s3://${LOCAL_DEFAULTS.ingestBucket}/incoming/jsonl/ --endpoint-url ${s3.endpoint}`,
    `  (its report: s3://${LOCAL_DEFAULTS.ingestBucket}/reports/incoming/jsonl/sessions.jsonl.json)`,
    'Ctrl-C stops the server; the data is kept.',
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

/**
 * Ctrl-C / SIGTERM: let in-flight requests finish, close the store (flushing
 * it), exit 0. Another Ctrl-C a second or more later exits at once; one sooner
 * is the same keypress arriving twice (from the terminal and relayed by tsx).
 */
function stopOnSignals(server: LocalServer, store: LocalStore, s3: LocalS3): void {
  let stoppingSince: number | undefined;
  const stop = async (signal: NodeJS.Signals) => {
    if (stoppingSince !== undefined) {
      if (Date.now() - stoppingSince < DUPLICATE_SIGNAL_MS) return;
      process.stderr.write(`${signal} again: exiting without waiting.\n`);
      process.exit(130);
    }
    stoppingSince = Date.now();
    process.stdout.write(`${signal}: shutting down…\n`);
    setTimeout(() => {
      process.stderr.write(`Shutdown took over ${SHUTDOWN_GRACE_MS / 1000} s; exiting anyway.\n`);
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    try {
      await server.close();
      // The handlers' shared client keeps connections to the store open; close them so the store can stop.
      const { documentClient } = await import('../../shared/data/store-from-env');
      documentClient.destroy();
      await s3.close();
      await store.close();
      process.stdout.write('Stopped; data kept.\n');
      process.exit(0);
    } catch (error) {
      process.stderr.write(`Shutdown failed: ${String(error)}\n`);
      process.exit(1);
    }
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** A port already taken, in a sentence that says what to do. */
function startupError(error: unknown, what: string, portVariable: string): Error {
  if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    return new Error(`Cannot start ${what}: the port is in use. Stop what holds it or set ${portVariable}.`);
  }
  return error as Error;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
