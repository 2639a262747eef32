/**
 * `npm run import` as a user runs it: the CLI in a child process (tsx), against
 * this test file's table through DYNAMODB_ENDPOINT / TABLE_NAME, and against
 * the default target (the local store on DYNAMODB_PORT, table session-improvement).
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DEMO_DATA_FILE } from '../../infra/local/demo-data';
import { LOCAL_DEFAULTS } from '../../infra/local/local-config';
import { ensureTable, startLocalStore } from '../../infra/local/local-store';
import { createDocumentClient } from '../../shared/data/client';
import { sessionKey } from '../../shared/data/keys';
import { documentClient } from '../../shared/data/store-from-env';
import { createTestTable, releaseOverHttp, scheduleOverHttp, seedSession, uniqueId } from '../support/handlers';
import { scanTable } from '../support/scan-table';
import { createTestBucket, testBucket } from '../support/export';
import { putObject } from '../support/ingest';

const ROOT = resolve(__dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'import-cli-'));

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runImport(args: string[], env: Record<string, string | undefined>, stdin = ''): Promise<CliRun> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete childEnv[name];
  return new Promise((done) => {
    const child = execFile(
      join(ROOT, 'node_modules', '.bin', 'tsx'),
      [join(ROOT, 'infra', 'cli', 'import.ts'), ...args],
      { cwd: ROOT, env: childEnv, timeout: 60_000 },
      (error, stdout, stderr) => done({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
    child.stdin?.end(stdin);
  });
}

function writeJsonl(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

const session = (id: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ session_id: id, search_query: 'q', created_at: 1_700_000_000, search_results: [], ...extra });

beforeAll(createTestTable);

test('reports rejected lines by number on stderr, a summary on stdout, and exits 1', async () => {
  const [a, b, c] = [uniqueId('cli'), uniqueId('cli'), uniqueId('cli')];
  const file = writeJsonl('mixed.jsonl', [
    session(a, { events: [{ event_id: 'e1', object_id: 'p', event_type: 'click', created_at: 1_700_000_001 }] }),
    '{not json',
    session(b),
    '',
    session(c, { is_irrelevant: 'yes' }),
  ]);
  const run = await runImport([file], { DYNAMODB_ENDPOINT: process.env.DYNAMODB_ENDPOINT, TABLE_NAME: process.env.TABLE_NAME });

  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(/^line 2: not valid JSON/m);
  expect(run.stderr).toMatch(/^line 5: is_irrelevant must be a boolean/m);
  expect(run.stdout.trim()).toBe('Imported 2 sessions and 1 event from 5 lines; rejected 2 lines.');
  const stored = await documentClient.send(new GetCommand({ TableName: process.env.TABLE_NAME, Key: sessionKey(a) }));
  expect(stored.Item).toMatchObject({ session_id: a, is_irrelevant: false });
  const rejected = await documentClient.send(new GetCommand({ TableName: process.env.TABLE_NAME, Key: sessionKey(c) }));
  expect(rejected.Item).toBeUndefined();
});

test('a clean file exits 0; stdin works as "-"', async () => {
  const file = writeJsonl('clean.jsonl', [session(uniqueId('cli'))]);
  const env = { DYNAMODB_ENDPOINT: process.env.DYNAMODB_ENDPOINT, TABLE_NAME: process.env.TABLE_NAME };
  const run = await runImport([file], env);
  expect(run).toMatchObject({ code: 0, stdout: 'Imported 1 session and 0 events from 1 line; rejected 0 lines.\n' });
  const piped = await runImport(['-'], env, `${session(uniqueId('cli'))}\n${session(uniqueId('cli'))}\n`);
  expect(piped).toMatchObject({ code: 0, stdout: 'Imported 2 sessions and 0 events from 2 lines; rejected 0 lines.\n' });
});

test('s3://bucket/key reads an object (S3_ENDPOINT here: the jest S3 server), and a .gz name is gunzipped, as is a local .gz file', async () => {
  await createTestBucket();
  const [a, b] = [uniqueId('cli'), uniqueId('cli')];
  await putObject('incoming/jsonl/cli.jsonl.gz', gzipSync(`${session(a)}\n${session(b)}\n`));
  const env = { DYNAMODB_ENDPOINT: process.env.DYNAMODB_ENDPOINT, TABLE_NAME: process.env.TABLE_NAME, S3_ENDPOINT: process.env.S3_ENDPOINT };

  const run = await runImport([`s3://${testBucket()}/incoming/jsonl/cli.jsonl.gz`], env);

  expect(run).toMatchObject({ code: 0, stdout: 'Imported 2 sessions and 0 events from 2 lines; rejected 0 lines.\n' });
  const stored = await documentClient.send(new GetCommand({ TableName: process.env.TABLE_NAME, Key: sessionKey(b) }));
  expect(stored.Item).toMatchObject({ session_id: b });
  const local = join(dir, 'local.jsonl.gz');
  writeFileSync(local, gzipSync(`${session(uniqueId('cli'))}\n`));
  expect(await runImport([local], env)).toMatchObject({ code: 0, stdout: 'Imported 1 session and 0 events from 1 line; rejected 0 lines.\n' });
  const missing = await runImport([`s3://${testBucket()}/incoming/jsonl/no-such.jsonl`], env);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/^Import failed: .*(key does not exist|NoSuchKey)/im);
});

test('a line of a released batch is skipped and said so on stderr; skipped lines alone still exit 0', async () => {
  const id = await seedSession({}, 1);
  const { batch_id } = (await scheduleOverHttp(id)).body;
  expect((await releaseOverHttp(uniqueId('r'))).body).toMatchObject({ batch_id });
  const env = { DYNAMODB_ENDPOINT: process.env.DYNAMODB_ENDPOINT, TABLE_NAME: process.env.TABLE_NAME };
  const run = await runImport([writeJsonl('released.jsonl', [session(id, { search_query: 'changed' }), session(uniqueId('cli'))])], env);
  expect(run.stderr).toMatch(new RegExp(`^line 1: skipped: in released batch ${batch_id}$`, 'm'));
  expect(run).toMatchObject({
    code: 0,
    stdout: 'Imported 1 session and 0 events from 2 lines; rejected 0 lines; skipped 1 line of a released batch.\n',
  });
});

test('what it prints about a line is escaped: a UTF-16 file puts no NUL or other control byte on the terminal', async () => {
  const path = join(dir, 'utf16.jsonl');
  writeFileSync(path, Buffer.from(`${session(uniqueId('cli'))}\n{"a":\u0007\u001b[2J}\n`, 'utf16le'));
  const run = await runImport([path], { DYNAMODB_ENDPOINT: process.env.DYNAMODB_ENDPOINT, TABLE_NAME: process.env.TABLE_NAME });
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(/^line 1: not valid JSON: it holds NUL bytes \(is the file UTF-16\? The import reads UTF-8\)$/m);
  expect(run.stderr + run.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);

  const bom = join(dir, 'utf16-bom.jsonl');
  writeFileSync(bom, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${session(uniqueId('cli'))}\n`, 'utf16le')]));
  const withBom = await runImport([bom], { DYNAMODB_ENDPOINT: process.env.DYNAMODB_ENDPOINT, TABLE_NAME: process.env.TABLE_NAME });
  expect(withBom.stderr).toMatch(/^line 1: not valid UTF-8 \(is the file UTF-16\? The import reads UTF-8\)$/m);
  expect(withBom.stderr + withBom.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
});

test('a UTF-8 byte-order mark at the start of the file is ignored', async () => {
  const id = uniqueId('cli');
  const path = join(dir, 'bom.jsonl');
  writeFileSync(path, `\uFEFF${session(id)}\n`);
  const run = await runImport([path], { DYNAMODB_ENDPOINT: process.env.DYNAMODB_ENDPOINT, TABLE_NAME: process.env.TABLE_NAME });
  expect(run).toMatchObject({ code: 0, stdout: 'Imported 1 session and 0 events from 1 line; rejected 0 lines.\n' });
});

test('an empty or closed stdin, or an empty file: it says nothing was read, and exits 2', async () => {
  const env = { DYNAMODB_ENDPOINT: process.env.DYNAMODB_ENDPOINT, TABLE_NAME: process.env.TABLE_NAME };
  const empty = await runImport(['-'], env, '');
  expect(empty).toMatchObject({ code: 2, stdout: '' });
  expect(empty.stderr).toMatch(/^Nothing was read from stdin \(it is empty or closed\): nothing imported\.$/m);

  const closed = await new Promise<CliRun>((done) => {
    const cli = `${join(ROOT, 'node_modules', '.bin', 'tsx')} ${join(ROOT, 'infra', 'cli', 'import.ts')} - <&-`;
    execFile('bash', ['-c', cli], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 60_000 }, (error, stdout, stderr) =>
      done({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
  expect(closed).toMatchObject({ code: 2, stdout: '' });
  expect(closed.stderr).toMatch(/Nothing was read from stdin \(it is empty or closed\)/);

  const file = join(dir, 'empty.jsonl');
  writeFileSync(file, '');
  const emptyFile = await runImport([file], env);
  expect(emptyFile).toMatchObject({ code: 2, stdout: '' });
  expect(emptyFile.stderr).toContain(`Nothing was read from ${file} (it is empty): nothing imported.`);
});

test('by default it writes to the local store on DYNAMODB_PORT, table session-improvement', async () => {
  const store = await startLocalStore();
  try {
    await ensureTable(store.endpoint, LOCAL_DEFAULTS.tableName);
    const id = uniqueId('cli');
    const run = await runImport([writeJsonl('default.jsonl', [session(id)])], {
      DYNAMODB_ENDPOINT: undefined,
      TABLE_NAME: undefined,
      DYNAMODB_PORT: String(store.port),
    });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`into table "${LOCAL_DEFAULTS.tableName}" at ${store.endpoint}`);
    const db = createDocumentClient({ endpoint: store.endpoint });
    const stored = await db.send(new GetCommand({ TableName: LOCAL_DEFAULTS.tableName, Key: sessionKey(id) }));
    db.destroy();
    expect(stored.Item).toMatchObject({ session_id: id });
  } finally {
    await store.close();
  }
});

test('a missing table, an endpoint nobody answers on, or a missing file: exit 2 with a sentence that says what to do', async () => {
  const file = writeJsonl('one.jsonl', [session(uniqueId('cli'))]);
  const noTable = await runImport([file], { DYNAMODB_ENDPOINT: process.env.DYNAMODB_ENDPOINT, TABLE_NAME: 'no-such-table' });
  expect(noTable.code).toBe(2);
  expect(noTable.stderr).toMatch(/No table "no-such-table" at http:\/\/127\.0\.0\.1:\d+\. Start the local service with `npm start`/);

  const closed = await startLocalStore();
  await closed.close();
  const nobody = await runImport([file], { DYNAMODB_ENDPOINT: closed.endpoint, TABLE_NAME: 'x' });
  expect(nobody.code).toBe(2);
  expect(nobody.stderr).toContain(`Nothing answers at ${closed.endpoint}`);

  const missing = await runImport([join(dir, 'nope.jsonl')], { DYNAMODB_ENDPOINT: process.env.DYNAMODB_ENDPOINT, TABLE_NAME: process.env.TABLE_NAME });
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/Import failed: ENOENT/);

  const usage = await runImport([], {});
  expect(usage.code).toBe(2);
  expect(usage.stderr).toMatch(/^Usage: npm run import -- \[--format jsonl\|ubi\] FILE/);

  const format = await runImport(['--format', 'csv', file], {});
  expect(format.code).toBe(2);
  expect(format.stderr).toMatch(/^Unknown --format "csv": use jsonl or ubi\./);
});

test('--format ubi imports the UBI sample, reports sessions, events, waiting and skipped records, and a second run changes nothing', async () => {
  const tableName = `${process.env.TABLE_NAME}-ubi`;
  await ensureTable(process.env.DYNAMODB_ENDPOINT!, tableName);
  const env = { DYNAMODB_ENDPOINT: process.env.DYNAMODB_ENDPOINT, TABLE_NAME: tableName };
  const summary =
    'Imported 284 sessions and 474 events from 7842 lines; rejected 0 lines.\n' +
    'UBI: 473 query documents made the sessions (repeated query ids merged), 1932 impressions their search results; ' +
    '332 events wait for their query (kept until it is imported); ' +
    '710 events skipped: 2 have no query_id, 708 name no object (search 504, on_search 86, view_search_results 62, product_sort 56).\n';

  expect(await runImport(['--format', 'ubi', DEMO_DATA_FILE], env)).toMatchObject({ code: 0, stdout: summary });
  const first = await scanTable(documentClient, tableName);
  expect(await runImport(['--format', 'ubi', DEMO_DATA_FILE], env)).toMatchObject({ code: 0, stdout: summary });
  expect(await scanTable(documentClient, tableName)).toEqual(first);
});
