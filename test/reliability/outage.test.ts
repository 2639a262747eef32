/**
 * Throttling and outages (issue 4 item 3). A middleware on the handlers' own
 * DocumentClient, placed inside the SDK's retry loop, fails every attempt the
 * way DynamoDB does when it keeps throttling, or is unreachable (a real
 * ECONNREFUSED: the request is redirected to a closed port). The SDK retries
 * (maxAttempts 3, shared/data/client.ts), gives up, and each handler must
 * answer 503 service_unavailable with Retry-After, log a warning, and never
 * show a stack trace; the direct Step Functions invocation must throw an error
 * named ServiceUnavailable so the workflow's retry policy catches it.
 * A non-outage SDK error (ValidationException) is a bug: 500 internal_error,
 * logged as an error, not retried.
 */
import {
  DynamoDBServiceException,
  InternalServerError,
  ProvisionedThroughputExceededException,
  ThrottlingException,
} from '@aws-sdk/client-dynamodb';
import { execFile } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { documentClient } from '../../shared/data/store-from-env';
import { logger } from '../../shared/observability';
import {
  createTestTable,
  pageOverHttp,
  releaseDirect,
  releaseOverHttp,
  scheduleOverHttp,
  seedSession,
  uniqueId,
  type JsonResult,
} from '../support/handlers';

const MAX_ATTEMPTS = 3;

/** What a failed attempt throws; undefined lets the call through to the store. */
type Fault = () => Error | undefined;
let fault: Fault | undefined;
let attempts = 0;
let logicalCalls = 0;
/** Calls still retrying after the handler answered (a parallel sibling failed first). */
let inFlight: Array<Promise<unknown>> = [];

const metadata = (httpStatusCode: number) => ({ httpStatusCode, requestId: 'test', attempts: 1, totalRetryDelay: 0 });

const FAULTS = {
  'throttled (ProvisionedThroughputExceededException)': () =>
    new ProvisionedThroughputExceededException({
      message: 'The level of configured provisioned throughput for the table was exceeded.',
      $metadata: metadata(400),
    }),
  'throttled (ThrottlingException)': () =>
    new ThrottlingException({ message: 'Rate of requests exceeds the allowed throughput.', $metadata: metadata(400) }),
  'failing inside DynamoDB (InternalServerError)': () =>
    new InternalServerError({ message: 'Internal server error', $metadata: metadata(500) }),
  // The SDK's own request timeout: no response, so no status code.
  'timing out (TimeoutError)': () => Object.assign(new Error('Connection timed out after 1000 ms'), { name: 'TimeoutError' }),
  // What Node's socket gives when nothing listens (the real one is in the probe test below).
  'unreachable (ECONNREFUSED)': () =>
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), { code: 'ECONNREFUSED', errno: -111, syscall: 'connect' }),
} satisfies Record<string, Fault>;

const ENDPOINTS: Record<string, () => Promise<JsonResult>> = {
  'POST /session/use-for-improvement': () => scheduleOverHttp(uniqueId()),
  'GET /batch/sessions': () => pageOverHttp({ batch_id: '000001' }),
  'POST /batch/release': () => releaseOverHttp(uniqueId('r')),
};

/** Stack frames look like "at fn (file.ts:1:2)" or name a source file with a line number. */
const STACK_TRACE = /\bat .+:\d+:\d+|\n\s+at |node_modules|\.[jt]s:\d+/;

beforeAll(async () => {
  await createTestTable();
  // Outside the retry loop: one count per logical DynamoDB call.
  documentClient.middlewareStack.add(
    (next) => async (args) => {
      if (!fault) return next(args);
      logicalCalls++;
      const result = next(args);
      inFlight.push(result.catch(() => undefined));
      return result;
    },
    { step: 'initialize', name: 'countLogicalCalls' },
  );
  // Inside the retry loop (the SDK's retry middleware is finalizeRequest/high): fails each attempt.
  documentClient.middlewareStack.add(
    (next) => async (args) => {
      if (!fault) return next(args);
      attempts++;
      const failure = fault();
      if (failure) throw failure;
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'injectOutage' },
  );
});

let randomSpy: jest.SpyInstance | undefined;
beforeEach(async () => {
  attempts = 0;
  logicalCalls = 0;
  inFlight = [];
  // The SDK's retry quota (500 tokens per client, 5-14 per retry) outlives a
  // request, as in a warm Lambda container; refill it so every test here sees
  // the retries of a fresh one instead of what earlier tests left.
  const retryStrategy = (await documentClient.config.retryStrategy()) as { capacity?: number };
  retryStrategy.capacity = 500;
  // The SDK waits random() × base × 2^attempt between attempts (full jitter):
  // drawing 0 keeps every retry but takes the wait out of the test.
  randomSpy = jest.spyOn(Math, 'random').mockReturnValue(0);
});
afterEach(async () => {
  await settle();
  fault = undefined;
  randomSpy?.mockRestore();
});

/** Waits until every faulty call has used up its retries, so counts are final. */
async function settle(): Promise<void> {
  while (inFlight.length > 0) await Promise.all(inFlight.splice(0));
}

/**
 * Records what the handler logs at warn and error level. The Powertools logger
 * resets its level to the environment's (SILENT in tests) at every warm
 * invocation, so spying on its methods is the dependable way to see the calls.
 */
async function captureLogs<T>(run: () => Promise<T>) {
  const warn = jest.spyOn(logger, 'warn');
  const error = jest.spyOn(logger, 'error');
  try {
    const result = await run();
    return { result, warnings: [...warn.mock.calls], errors: [...error.mock.calls] };
  } finally {
    warn.mockRestore();
    error.mockRestore();
  }
}

describe.each(Object.entries(FAULTS))('DynamoDB %s past the SDK retries', (_, makeFault) => {
  test.each(Object.entries(ENDPOINTS))('%s answers 503 service_unavailable with Retry-After and logs a warning', async (_, call) => {
    fault = makeFault;
    const started = performance.now();
    const { result, warnings, errors } = await captureLogs(call);
    const elapsed = performance.now() - started;

    expect(result.status).toBe(503);
    expect(result.headers['content-type']).toBe('application/json');
    expect(Number(result.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(result.body).toEqual({
      error: { code: 'service_unavailable', message: expect.stringMatching(/^[A-Z].{10,}\.$/) },
    });
    expect(JSON.stringify(result.body)).not.toMatch(STACK_TRACE);

    // Every DynamoDB call the handler made was tried MAX_ATTEMPTS times by the SDK.
    await settle();
    expect(logicalCalls).toBeGreaterThanOrEqual(1);
    expect(attempts).toBe(logicalCalls * MAX_ATTEMPTS);
    expect(elapsed).toBeLessThan(2_000);

    // One warning with the cause attached for the operator; nothing at error level.
    expect(warnings).toEqual([[result.body.error.message, { error: expect.objectContaining({ name: 'ServiceUnavailable' }) }]]);
    expect(errors).toEqual([]);
  });

  test('a direct (Step Functions) release throws an error named ServiceUnavailable', async () => {
    fault = makeFault;
    const { result, warnings, errors } = await captureLogs(() => releaseDirect({ release_id: uniqueId('r') }).then(
      () => undefined,
      (error: unknown) => error,
    ));
    expect(result).toMatchObject({ name: 'ServiceUnavailable', message: expect.stringMatching(/^[A-Z].+\.$/) });
    // Logged like the HTTP path: one warning with the cause, nothing at error level.
    expect(warnings).toEqual([[expect.any(String), { error: expect.objectContaining({ name: 'ServiceUnavailable' }) }]]);
    expect(errors).toEqual([]);
    await settle();
    expect(attempts).toBe(logicalCalls * MAX_ATTEMPTS);
  });
});

describe('an error DynamoDB gives for a bad request (a bug on our side, not an outage)', () => {
  const validation = () =>
    new DynamoDBServiceException({
      name: 'ValidationException',
      $fault: 'client',
      message: 'One or more parameter values were invalid',
      $metadata: metadata(400),
    });

  test.each(Object.entries(ENDPOINTS))('%s answers 500 internal_error without a stack trace, logged as an error, not retried', async (_, call) => {
    fault = validation;
    const { result, warnings, errors } = await captureLogs(call);
    expect(result.status).toBe(500);
    expect(result.headers['content-type']).toBe('application/json');
    expect(result.headers['retry-after']).toBeUndefined();
    expect(result.body).toEqual({ error: { code: 'internal_error', message: expect.stringMatching(/^[A-Z].+\.$/) } });
    expect(JSON.stringify(result.body)).not.toMatch(STACK_TRACE);
    expect(JSON.stringify(result.body)).not.toContain('ValidationException');
    await settle();
    expect(attempts).toBe(logicalCalls);
    expect(errors).toEqual([[result.body.error.message, { error: expect.objectContaining({ name: 'ValidationException' }) }]]);
    expect(warnings).toEqual([]);
  });
});

test('a throttling spell shorter than the SDK retries is invisible to the client', async () => {
  const sessionId = await seedSession({}, 1);
  let failuresLeft = MAX_ATTEMPTS - 1;
  fault = () => (failuresLeft-- > 0 ? FAULTS['throttled (ProvisionedThroughputExceededException)']() : undefined);
  const result = await scheduleOverHttp(sessionId);
  expect(result).toMatchObject({ status: 200, body: { status: 'scheduled' } });
  expect(attempts).toBeGreaterThan(MAX_ATTEMPTS - 1);
});

test('after the outage the same requests succeed (schedule and release are safe to retry)', async () => {
  const sessionId = await seedSession({}, 1);
  const releaseId = uniqueId('r');
  fault = FAULTS['unreachable (ECONNREFUSED)'];
  expect((await scheduleOverHttp(sessionId)).status).toBe(503);
  expect((await releaseOverHttp(releaseId)).status).toBe(503);
  fault = undefined;
  const scheduled = await scheduleOverHttp(sessionId);
  expect(scheduled).toMatchObject({ status: 200, body: { status: 'scheduled' } });
  const released = await releaseOverHttp(releaseId);
  expect(released).toMatchObject({ status: 200, body: { release_id: releaseId, batch_id: scheduled.body.batch_id } });
});

describe('DynamoDB really unreachable (nothing listens on its port), in a plain Node process', () => {
  // Inside jest, Node's socket errors come from another realm: the SDK's
  // `instanceof Error` fails and it wraps them without their code. The probe
  // runs the same handlers with the same test helpers outside jest.
  let probes: Array<{ probe: string; result: any; attempts: number; logicalCalls: number; ms: number }>;
  let logged: Array<Record<string, any>>;

  beforeAll(async () => {
    const port = await findClosedPort();
    const tsx = join(__dirname, '../../node_modules/.bin/tsx');
    const { stdout, stderr } = await promisify(execFile)(tsx, [join(__dirname, 'unreachable-probe.ts'), String(port)], {
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'WARN' },
      timeout: 20_000,
    });
    probes = stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line));
    logged = (stdout + stderr).split('\n').filter((line) => line.startsWith('{"level"')).map((line) => JSON.parse(line));
  }, 30_000);

  test.each(['schedule', 'page', 'release'])('%s answers 503 service_unavailable with Retry-After after 3 attempts per call', (name) => {
    const probe = probes.find((p) => p.probe === name)!;
    expect(probe.result).toEqual({
      status: 503,
      headers: { 'content-type': 'application/json', 'retry-after': expect.stringMatching(/^[1-9]\d*$/) },
      body: { error: { code: 'service_unavailable', message: expect.stringMatching(/^[A-Z].+\.$/) } },
    });
    expect(probe.logicalCalls).toBeGreaterThanOrEqual(1);
    expect(probe.attempts).toBe(probe.logicalCalls * MAX_ATTEMPTS);
  });

  test('a direct release throws ServiceUnavailable', () => {
    expect(probes.find((p) => p.probe === 'releaseDirect')!.result).toEqual({
      thrown: { name: 'ServiceUnavailable', message: expect.stringMatching(/^[A-Z].+\.$/) },
    });
  });

  test('each invocation, HTTP or direct, printed one WARN log line naming the refused connection as the cause', () => {
    expect(logged.map((line) => [line.level, line.function_name])).toEqual([
      ['WARN', 'ScheduleSession'],
      ['WARN', 'GetBatchPage'],
      ['WARN', 'ReleaseBatch'],
      ['WARN', 'ReleaseBatch'],
    ]);
    for (const line of logged) expect(line.error.cause).toMatchObject({ code: 'ECONNREFUSED' });
  });
});

async function findClosedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
