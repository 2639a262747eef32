/**
 * Local ingestion (infra/local/local-ingest.ts) on the jest run's S3 server:
 * what a stop interrupted is picked up at the next start, what was imported
 * is not said again.
 */
import type { LocalS3 } from '../../infra/local/local-s3';
import { ingestLocally } from '../../infra/local/local-ingest';
import { createTestBucket, testBucket, testS3 } from '../support/export';
import { createTestTable, scheduleOverHttp, writer } from '../support/handlers';
import { ingest, jsonlSessions, putObject, readReport } from '../support/ingest';

beforeAll(async () => {
  await createTestTable();
  await createTestBucket();
});

test('at start, objects the bucket holds are imported unless they were, and resumed if a stop cut them short', async () => {
  const waiting = jsonlSessions(2);
  const done = jsonlSessions(1);
  const cut = jsonlSessions(700, 1);
  await putObject('incoming/jsonl/waiting.jsonl', waiting.text);
  await putObject('incoming/jsonl/done.jsonl', done.text);
  await putObject('incoming/jsonl/cut.jsonl', cut.text);
  await ingest('incoming/jsonl/done.jsonl');
  // Stopped after its first chunk, as Ctrl-C would leave it (its checkpoint saved).
  expect((await ingest('incoming/jsonl/cut.jsonl', { shouldStop: () => true })).outcome).toBe('continues');

  const printed: string[] = [];
  // No S3 events: only what catchUp finds.
  const noEvents = { onObjectCreated: () => undefined } as unknown as LocalS3;
  const local = ingestLocally({ server: noEvents, bucket: testBucket(), s3: testS3(), writer: writer(), print: (line) => printed.push(line) });
  await local.catchUp();
  await local.idle();

  expect(printed.sort()).toEqual([
    'S3 incoming/jsonl/cut.jsonl imported: 700 sessions, 700 events, 0 lines rejected, 0 skipped (report reports/incoming/jsonl/cut.jsonl.json)',
    'S3 incoming/jsonl/waiting.jsonl imported: 2 sessions, 4 events, 0 lines rejected, 0 skipped (report reports/incoming/jsonl/waiting.jsonl.json)',
  ]);
  expect(await readReport('incoming/jsonl/cut.jsonl')).toMatchObject({ status: 'complete', calls: 2 });
  expect((await scheduleOverHttp(waiting.ids[0]!)).body.status).toBe('scheduled');
});
