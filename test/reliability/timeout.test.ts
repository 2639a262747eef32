/**
 * A handler that runs out of time (a DynamoDB call that never answers): the
 * deployed bundles, built as the stack builds them, run in a plain Node
 * process against a TCP server that accepts connections and never replies,
 * with a Lambda context that has little time left. middy gives up shortly
 * before Lambda would kill the function; what it then answers must be what
 * the callers know how to retry: a 503 with Retry-After over HTTP, and, on
 * the Step Functions path, an error whose name the release task's retrier
 * lists. (When Lambda kills the function first, Step Functions reports
 * Sandbox.Timedout: the retrier must list that name too.)
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';
import { esbuildOptions, PROJECT_ROOT } from '../../infra/bundling';
import { RELEASE_STATES } from '../../infra/constructs/release-workflow';
import { stateMachineFromTemplate } from '../../infra/local/stepfunctions/state-machine';
import { routeNamed } from '../../shared/routes';
import { synthesizedTemplate } from '../support/synthesized';

/** Time the handler has left when it is invoked: the store never answers within it. */
const REMAINING_MS = 1_500;

let outDir: string;
let silentStore: Server;
const sockets = new Set<Socket>();
let endpoint: string;
let releaseRetrier: string[];

beforeAll(async () => {
  outDir = mkdtempSync(path.join(tmpdir(), 'timeout-bundles-'));
  silentStore = createServer((socket) => {
    // Accept, read, never answer: a DynamoDB call that hangs.
    sockets.add(socket);
    socket.on('data', () => undefined).on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => silentStore.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(silentStore.address() as AddressInfo).port}`;

  const machine = stateMachineFromTemplate(synthesizedTemplate());
  releaseRetrier = machine.definition.States[RELEASE_STATES.release].Retry.flatMap((r: { ErrorEquals: string[] }) => r.ErrorEquals);
}, 120_000);

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => silentStore.close(() => resolve()));
  rmSync(outDir, { recursive: true, force: true });
});

/** Builds one route's bundle as the stack does and invokes it once in a fresh Node process. */
async function invokeBundle(routeName: 'ScheduleSession' | 'ReleaseBatch', event: unknown) {
  const route = routeNamed(routeName);
  const file = path.join(outDir, route.name, 'index.mjs');
  await esbuild.build({ ...esbuildOptions(path.join(PROJECT_ROOT, route.entry), file), absWorkingDir: PROJECT_ROOT });
  const script = `
    const { handler } = await import(${JSON.stringify(file)});
    const deadline = Date.now() + ${REMAINING_MS};
    const context = { awsRequestId: 'timeout-test', functionName: ${JSON.stringify(route.name)},
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()) };
    const started = Date.now();
    let outcome;
    try { outcome = { returned: await handler(${JSON.stringify(event)}, context) }; }
    catch (error) { outcome = { thrown: { name: error.name, message: error.message } }; }
    process.stdout.write(JSON.stringify({ ...outcome, ms: Date.now() - started }));
    process.exit(0);`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    env: {
      ...process.env,
      DYNAMODB_ENDPOINT: endpoint,
      TABLE_NAME: 'never-answers',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
    },
    timeout: 20_000,
  });
  return JSON.parse(stdout) as { returned?: any; thrown?: { name: string; message: string }; ms: number };
}

test('the release bundle invoked by Step Functions throws an error the release retrier retries, before its time is up', async () => {
  const outcome = await invokeBundle('ReleaseBatch', { release_id: 'out-of-time' });

  expect(outcome.thrown).toEqual({ name: 'ServiceUnavailable', message: expect.stringMatching(/time/i) });
  expect(releaseRetrier).toContain(outcome.thrown!.name);
  expect(outcome.ms).toBeLessThan(REMAINING_MS);
}, 60_000);

test('when Lambda kills the release function first, Step Functions reports Sandbox.Timedout: the retrier lists it', () => {
  expect(releaseRetrier).toContain('Sandbox.Timedout');
});

test('an HTTP handler out of time answers 503 with Retry-After, not a 500', async () => {
  const event = {
    version: '2.0',
    routeKey: 'POST /session/use-for-improvement',
    rawPath: '/session/use-for-improvement',
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    requestContext: { http: { method: 'POST', path: '/session/use-for-improvement' }, requestId: 'timeout-test' },
    body: JSON.stringify({ session_id: 'out-of-time' }),
    isBase64Encoded: false,
  };
  const outcome = await invokeBundle('ScheduleSession', event);

  expect(outcome.returned).toMatchObject({ statusCode: 503, headers: { 'retry-after': expect.any(String) } });
  expect(JSON.parse(outcome.returned.body).error.code).toBe('service_unavailable');
  expect(outcome.ms).toBeLessThan(REMAINING_MS);
}, 60_000);
