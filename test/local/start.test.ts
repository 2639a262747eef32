/**
 * `npm start` as a user runs it (in a child process of its own group,
 * on free ports and a temporary DATA_DIR): it serves the demo data and the console, its
 * banner's curl lines work when pasted into a shell, it stops cleanly on
 * Ctrl-C (SIGINT) or SIGTERM, and a restart keeps the data without seeding again.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand, ListBucketsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DEMO_SESSION_IDS } from '../../infra/local/demo-data';
import { LOCAL_BUCKETS } from '../../infra/local/local-config';
import { ROUTES } from '../../shared/routes';

/** Sessions in the demo file (see sample-data/README.md; test/ingest/ubi-sample.test.ts counts them independently). */
const DEMO_SESSIONS = 284;

const ROOT = resolve(__dirname, '..', '..');
let dataDir = mkdtempSync(join(tmpdir(), 'npm-start-'));

interface Running {
  child: ChildProcess;
  url: string;
  output: () => string;
  /** Resolves once npm and everything it started are gone (their stdout closed). */
  exited: Promise<void>;
}

/** Starts the local runtime and waits for its banner. */
async function start(): Promise<Running> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', DYNAMODB_PORT: '0', S3_PORT: '0', DATA_DIR: dataDir };
  // The defaults are under test: not this test file's table or the jest store.
  delete env.TABLE_NAME;
  delete env.DYNAMODB_ENDPOINT;
  // Its own process group, so that a test can press Ctrl-C: SIGINT to the whole group, as a terminal does.
  const child = spawn('npm', ['start', '--silent'], { cwd: ROOT, env, detached: true });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((done) => child.on('close', () => done()));
  const url = await new Promise<string>((found, failed) => {
    const timer = setTimeout(() => failed(new Error(`no banner within 20 s:\n${output}`)), 20_000);
    const look = () => {
      const match = /Session improvement service, local: (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        found(match[1]!);
      }
    };
    child.stdout.on('data', look);
    void exited.then(() => {
      clearTimeout(timer);
      failed(new Error(`exited before serving:\n${output}`));
    });
  });
  return { child, url, output: () => output, exited };
}

const schedule = async (url: string, sessionId: string) =>
  (
    await fetch(`${url}/session/use-for-improvement`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ session_id: sessionId }),
    })
  ).json();

let running: Running | undefined;
afterEach(async () => {
  // A failed assertion must not leave a server behind: end the whole group, whatever is left of it.
  if (!running) return;
  try {
    process.kill(-running.child.pid!, 'SIGKILL');
  } catch {
    // Already gone.
  }
  await running.exited;
  running = undefined;
});

/** The banner's "curl …" lines, run as pasted into a shell; each answer parsed as JSON. */
async function runBannerCurls(output: string): Promise<unknown[]> {
  const curls = output.split('\n').filter((line) => line.startsWith('  curl ')).map((line) => line.trim());
  expect(curls).toHaveLength(ROUTES.length);
  const answers = [];
  for (const curl of curls) answers.push(JSON.parse((await promisify(execFile)('sh', ['-c', curl])).stdout));
  return answers;
}

test('serves the seeded demo data, stops on Ctrl-C keeping it, and a restart does not seed again', async () => {
  running = await start();
  const banner = running.output();
  expect(banner).toContain(`Console:  ${running.url}/ `);
  expect(banner).toContain(`OpenAPI:  ${running.url}/openapi.json`);
  expect(banner).toContain(`Data:     ${dataDir} (dynalite at http://127.0.0.1:`);
  expect(banner).toContain(`Sessions: ${DEMO_SESSIONS} in the store`);
  expect(banner).toContain(`Seeded the empty store with the UBI demo data: ${DEMO_SESSIONS} sessions`);
  // The S3 server: both buckets, path-style, any credentials, objects kept under DATA_DIR.
  const s3Endpoint = /S3: {7}(http:\/\/127\.0\.0\.1:\d+) \(path-style, any credentials; buckets "session-improvement-exports", "session-improvement-ingest"; objects under (.+)\)$/m.exec(banner);
  expect(s3Endpoint?.[2]).toBe(join(dataDir, 's3'));
  const s3 = new S3Client({
    endpoint: s3Endpoint![1],
    forcePathStyle: true,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'anything', secretAccessKey: 'at all' },
  });
  expect((await s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name).sort()).toEqual([...LOCAL_BUCKETS].sort());
  await s3.send(new PutObjectCommand({ Bucket: LOCAL_BUCKETS[0], Key: 'batches/kept.txt', Body: 'kept' }));
  // The console is served, and a fresh store has no batch: npm start seeds sessions only.
  const consolePage = await fetch(`${running.url}/`);
  expect(consolePage.headers.get('content-type')).toBe('text/html; charset=utf-8');
  expect(await consolePage.text()).toContain('<script type="module" src="/console/console.js">');
  expect(await (await fetch(`${running.url}/console/api/batches`)).json()).toMatchObject({ batches: [] });
  // Schedule, page, release: in route order, each answers as the README says.
  const answers = await runBannerCurls(banner);
  expect(answers).toEqual([
    { session_id: DEMO_SESSION_IDS.ps4, status: 'scheduled', batch_id: '000001', session_number: expect.any(Number) },
    { batch_id: '000001', state: 'collecting', last_number: (answers[0] as { session_number: number }).session_number, sessions: [expect.objectContaining({ session_id: DEMO_SESSION_IDS.ps4 })] },
    expect.objectContaining({ release_id: 'demo-release-1', batch_id: '000001' }),
  ]);
  expect(await (await fetch(`${running.url}/console/api/batches`)).json()).toMatchObject({
    batches: [{ batch_id: '000001', state: 'released', release_id: 'demo-release-1', released_at: expect.any(Number) }],
  });
  // Ctrl-C: SIGINT to npm, tsx and the server process at once.
  process.kill(-running.child.pid!, 'SIGINT');
  await running.exited;
  expect(running.output()).toMatch(/^POST \/session\/use-for-improvement 200 \d+ms$/m);
  expect(running.output()).toContain('Stopped; data kept.');
  expect(running.output()).not.toContain('without waiting');

  running = await start();
  expect(running.output()).toContain('Existing data kept');
  const restartedS3 = new S3Client({
    endpoint: /S3: {7}(http:\/\/127\.0\.0\.1:\d+)/.exec(running.output())![1],
    forcePathStyle: true,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'other', secretAccessKey: 'keys' },
  });
  const kept = await restartedS3.send(new GetObjectCommand({ Bucket: LOCAL_BUCKETS[0], Key: 'batches/kept.txt' }));
  expect(await kept.Body!.transformToString()).toBe('kept');
  s3.destroy();
  restartedS3.destroy();
  expect(running.output()).toContain(`Sessions: ${DEMO_SESSIONS} in the store`);
  expect(await schedule(running.url, DEMO_SESSION_IDS.ps4)).toMatchObject({ status: 'already_scheduled', batch_id: '000001' });
  process.kill(-running.child.pid!, 'SIGTERM');
  await running.exited;
  expect(running.output()).toMatch(/SIGTERM: shutting down…\nStopped; data kept\.\n$/);
}, 60_000);

test('an object put into the local ingest bucket is imported, with one line in the log, and its sessions can be scheduled', async () => {
  running = await start();
  const s3Endpoint = /S3: {7}(http:\/\/127\.0\.0\.1:\d+)/.exec(running.output())![1]!;
  // The banner says how, with the AWS CLI; the SDK does the same here.
  expect(running.output()).toContain(`aws s3 cp sessions.jsonl s3://${LOCAL_BUCKETS[1]}/incoming/jsonl/ --endpoint-url ${s3Endpoint}`);
  const s3 = new S3Client({ endpoint: s3Endpoint, forcePathStyle: true, region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  const session = {
    session_id: 'dropped-into-the-bucket',
    search_query: 'oled tv',
    created_at: 1_790_000_000,
    search_results: [{ object_id: 'B0TV', rank: 0 }],
    is_irrelevant: false,
    is_payload_search: false,
    events: [{ event_id: 'dropped-e1', object_id: 'B0TV', event_type: 'click', created_at: 1_790_000_005 }],
  };
  await s3.send(new PutObjectCommand({ Bucket: LOCAL_BUCKETS[1], Key: 'incoming/jsonl/dropped.jsonl', Body: `${JSON.stringify(session)}\nnot json\n` }));
  const line = 'S3 incoming/jsonl/dropped.jsonl imported: 1 sessions, 1 events, 1 lines rejected, 0 skipped (report reports/incoming/jsonl/dropped.jsonl.json)';
  for (let waited = 0; !running.output().includes(line); waited += 50) {
    if (waited > 10_000) throw new Error(`no import line within 10 s:\n${running.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const report = await s3.send(new GetObjectCommand({ Bucket: LOCAL_BUCKETS[1], Key: 'reports/incoming/jsonl/dropped.jsonl.json' }));
  expect(JSON.parse(await report.Body!.transformToString())).toMatchObject({ status: 'complete', rejected: [{ line: 2 }] });
  expect(await schedule(running.url, 'dropped-into-the-bucket')).toMatchObject({ status: 'scheduled' });
  // The report itself, written to the same bucket, is not imported.
  expect(running.output().match(/^S3 /gm)).toHaveLength(1);
  s3.destroy();
  process.kill(-running.child.pid!, 'SIGINT');
  await running.exited;
}, 60_000);

test('a busy PORT fails the start before anything is written: the empty store is not seeded', async () => {
  const emptyDir = mkdtempSync(join(tmpdir(), 'npm-start-busy-'));
  const holder = createServer();
  await new Promise<void>((listening) => holder.listen(0, '127.0.0.1', listening));
  const busyPort = (holder.address() as AddressInfo).port;
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(busyPort), DYNAMODB_PORT: '0', S3_PORT: '0', DATA_DIR: emptyDir };
    delete env.TABLE_NAME;
    delete env.DYNAMODB_ENDPOINT;
    const failed = await new Promise<{ code: number | null; output: string }>((done) => {
      const child = spawn('npm', ['start', '--silent'], { cwd: ROOT, env });
      let output = '';
      child.stdout.on('data', (chunk) => (output += chunk));
      child.stderr.on('data', (chunk) => (output += chunk));
      child.on('close', (code) => done({ code, output }));
    });
    expect(failed.code).toBe(1);
    expect(failed.output).toContain(`Cannot start the API on 127.0.0.1:${busyPort}: the port is in use. Stop what holds it or set PORT.`);
    expect(failed.output).not.toContain('Seeded');
  } finally {
    holder.close();
  }
  // The same DATA_DIR on a free port: still an empty store, seeded now.
  const previous = dataDir;
  dataDir = emptyDir;
  try {
    running = await start();
    expect(running.output()).toContain(`Seeded the empty store with the UBI demo data: ${DEMO_SESSIONS} sessions`);
  } finally {
    dataDir = previous;
  }
}, 60_000);
