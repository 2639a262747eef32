/**
 * `npm run export` as a user runs it: the CLI in a child process (tsx),
 * against this test file's table and bucket, against the default target (the
 * local S3 server on S3_PORT, bucket session-improvement-exports), and with
 * --out to a directory. A batch it cannot export is refused with nothing written.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { LOCAL_BUCKETS, LOCAL_DEFAULTS } from '../../infra/local/local-config';
import { startLocalS3 } from '../../infra/local/local-s3';
import { createS3Client } from '../../shared/s3-client';
import { manifestKey, partKey } from '../../shared/export/layout';
import { createTestBucket, exportKeys, readExport, seedReleasedBatch, testBucket } from '../support/export';
import { createTestTable, scheduleOverHttp, seedSession } from '../support/handlers';

const ROOT = resolve(__dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'export-cli-'));

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runExport(args: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete childEnv[name];
  return new Promise((done) => {
    execFile(
      join(ROOT, 'node_modules', '.bin', 'tsx'),
      [join(ROOT, 'infra', 'cli', 'export.ts'), ...args],
      { cwd: ROOT, env: childEnv, timeout: 60_000 },
      (error, stdout, stderr) => done({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  await createTestTable();
  await createTestBucket();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('exports a released batch to EXPORT_BUCKET, and with --out the same bytes as plain files', async () => {
  const { batchId } = await seedReleasedBatch([{ events: 2 }, { events: 1 }, { events: 4 }]);

  const toBucket = await runExport([batchId]);
  expect(toBucket.code).toBe(0);
  expect(toBucket.stdout).toBe(
    `Exported batch ${batchId}: 3 sessions and 7 events in 1 part to s3://${testBucket()}/batches/${batchId}/ at ${process.env.S3_ENDPOINT}; ` +
      `manifest ${manifestKey(batchId)}.\n`,
  );
  expect(toBucket.stderr).toContain(`  ${partKey(batchId, 0)}: 3 sessions, 7 events,`);
  const stored = await readExport(batchId);
  expect(stored.lines).toHaveLength(3);

  const out = join(dir, 'out');
  const toDir = await runExport([batchId, '--out', out]);
  expect(toDir.code).toBe(0);
  expect(toDir.stdout).toContain(`in 1 part to ${out}/batches/${batchId}/`);
  expect(readdirSync(join(out, 'batches', batchId)).sort()).toEqual(['manifest.json', 'part-00000.jsonl.gz']);
  expect(readFileSync(join(out, partKey(batchId, 0))).equals(stored.parts[0]!.bytes)).toBe(true);
  const manifest = JSON.parse(readFileSync(join(out, manifestKey(batchId)), 'utf8'));
  expect({ ...manifest, exported_at: 0 }).toEqual({ ...stored.manifest, exported_at: 0 });
}, 60_000);

test('an unknown batch, a collecting batch, or an S3 server that is not running: exit 2, a sentence, nothing written', async () => {
  const unknown = await runExport(['999999']);
  expect(unknown).toMatchObject({ code: 2, stdout: '' });
  expect(unknown.stderr).toBe(`No batch "999999" in table "${process.env.TABLE_NAME}" at ${process.env.DYNAMODB_ENDPOINT}. Nothing was exported.\n`);

  await seedReleasedBatch([{}]);
  const collecting = (await scheduleOverHttp(await seedSession())).body.batch_id as string;
  const refused = await runExport([collecting, '--out', join(dir, 'refused')]);
  expect(refused).toMatchObject({ code: 2, stdout: '' });
  expect(refused.stderr).toBe(
    `Batch "${collecting}" is still collecting: release it first (npm run workflow, or POST /batch/release), then export it. Nothing was exported.\n`,
  );
  expect(await exportKeys(collecting)).toEqual([]);
  expect(() => readdirSync(join(dir, 'refused'))).toThrow(/ENOENT/);

  const { batchId } = await seedReleasedBatch([{}]);
  const closed = await startLocalS3({ directory: join(dir, 'closed-s3'), buckets: [] });
  await closed.close();
  const nobody = await runExport([batchId], { S3_ENDPOINT: closed.endpoint });
  expect(nobody.code).toBe(2);
  expect(nobody.stderr).toContain(`Nothing answers at ${closed.endpoint}. Start the local service with \`npm start\``);
}, 60_000);

test('by default it exports to the local S3 server on S3_PORT, bucket session-improvement-exports', async () => {
  const { batchId } = await seedReleasedBatch([{ events: 3 }]);
  const local = await startLocalS3({ directory: join(dir, 'local-s3'), buckets: LOCAL_BUCKETS });
  try {
    const run = await runExport([batchId], { S3_ENDPOINT: undefined, EXPORT_BUCKET: undefined, S3_PORT: String(local.port) });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`to s3://${LOCAL_DEFAULTS.exportBucket}/batches/${batchId}/ at ${local.endpoint}`);
    const stored = await readExport(batchId, LOCAL_DEFAULTS.exportBucket, createS3Client({ endpoint: local.endpoint }));
    expect(stored.manifest).toMatchObject({ batch_id: batchId, sessions: 1, events: 3 });
  } finally {
    await local.close();
  }
}, 60_000);
