/**
 * One object of the ingest bucket imported as the ingest function imports it
 * (shared/ingest/object-import.ts), on the jest run's S3 server and dynalite:
 * the report, delivery twice, a new version, gzip, resuming, and objects
 * that are not what they claim to be.
 */
import { gzipSync } from 'node:zlib';
import { createTestBucket, listKeys } from '../support/export';
import { createTestTable, scheduleOverHttp } from '../support/handlers';
import { ingest, jsonlSessions, putObject, readReport, scan } from '../support/ingest';
import { formatOf, reportKeyOf, type ObjectReport } from '../../shared/ingest/object-import';
import { createS3Client } from '../../shared/s3-client';

beforeAll(async () => {
  await createTestTable();
  await createTestBucket();
});

test('an object is imported, its report lists every rejected line with its number and reason, and its sessions can be scheduled', async () => {
  const { ids, text } = jsonlSessions(3);
  const key = 'incoming/jsonl/2026/12/01/first.jsonl';
  await putObject(key, `${text}not json\n{"session_id": 5}\n`);

  const result = await ingest(key);

  expect(result.outcome).toBe('imported');
  const report = await readReport(key);
  expect(report).toEqual(result.outcome === 'imported' && result.report);
  expect(report).toMatchObject({
    key,
    format: 'jsonl',
    gzip: false,
    status: 'complete',
    lines: 5,
    sessions: 3,
    events: 6,
    skipped: [],
    calls: 1,
  });
  expect(report.etag).toMatch(/^"[0-9a-f]+"$/);
  expect(report.rejected).toEqual([
    { line: 4, reason: expect.stringMatching(/^not valid JSON/) },
    { line: 5, reason: expect.stringContaining('session_id') },
  ]);
  expect((await scheduleOverHttp(ids[0]!)).body.status).toBe('scheduled');
});

test('the same object delivered again changes nothing: no write, the report as it was', async () => {
  const { text } = jsonlSessions(4);
  const key = 'incoming/jsonl/twice.jsonl';
  await putObject(key, text);
  await ingest(key);
  const [before, reportBefore] = [await scan(), await readReport(key)];

  const again = await ingest(key);

  expect(again.outcome).toBe('duplicate');
  expect(await scan()).toEqual(before);
  expect(await readReport(key)).toEqual(reportBefore);
});

test('a new object under the same key (a new ETag) is imported again', async () => {
  const key = 'incoming/jsonl/replaced.jsonl';
  await putObject(key, jsonlSessions(1).text);
  await ingest(key);
  const second = jsonlSessions(2);
  await putObject(key, second.text);

  const result = await ingest(key);

  expect(result.outcome).toBe('imported');
  expect(await readReport(key)).toMatchObject({ sessions: 2, calls: 1 });
  expect((await scheduleOverHttp(second.ids[1]!)).body.status).toBe('scheduled');
});

test('a .gz object is gunzipped; a UBI object goes through the UBI import', async () => {
  const { ids, text } = jsonlSessions(2);
  await putObject('incoming/jsonl/zipped.jsonl.gz', gzipSync(text));
  const ubi = [
    { query_id: 'ingest-ubi-q1', user_query: 'soundbar', timestamp: '2026-12-01T10:00:00Z' },
    { action_name: 'impression', query_id: 'ingest-ubi-q1', timestamp: '2026-12-01T10:00:01Z', event_attributes: { object: { object_id: 'B01' }, position: { ordinal: 1 } } },
    { action_name: 'click', query_id: 'ingest-ubi-q1', timestamp: '2026-12-01T10:00:05Z', event_attributes: { object: { object_id: 'B01' } } },
  ];
  await putObject('incoming/ubi/export.ndjson', ubi.map((d) => JSON.stringify(d)).join('\n'));

  expect((await ingest('incoming/jsonl/zipped.jsonl.gz')).outcome).toBe('imported');
  expect((await ingest('incoming/ubi/export.ndjson')).outcome).toBe('imported');

  expect(await readReport('incoming/jsonl/zipped.jsonl.gz')).toMatchObject({ gzip: true, sessions: 2, events: 4 });
  expect(await readReport('incoming/ubi/export.ndjson')).toMatchObject({ format: 'ubi', sessions: 1, events: 1, ubi: { queries: 1, impressions: 1 } });
  expect((await scheduleOverHttp(ids[1]!)).body.status).toBe('scheduled');
  expect((await scheduleOverHttp('ingest-ubi-q1')).body.status).toBe('scheduled');
});

test('keys outside incoming/jsonl/ and incoming/ubi/, and reports themselves, are not imported', async () => {
  expect(formatOf('incoming/jsonl/a.jsonl')).toEqual({ format: 'jsonl', gzip: false });
  expect(formatOf('incoming/ubi/a.ndjson.gz')).toEqual({ format: 'ubi', gzip: true });
  for (const key of ['incoming/jsonl/', 'incoming/jsonl/folder/', 'incoming/other/a.jsonl', 'reports/incoming/jsonl/a.jsonl.json', 'a.jsonl']) {
    expect(formatOf(key)).toBeUndefined();
  }
  await putObject('elsewhere/a.jsonl', jsonlSessions(1).text);
  const before = await scan();
  expect(await ingest('elsewhere/a.jsonl')).toMatchObject({ outcome: 'ignored' });
  expect(await ingest('incoming/jsonl/never-created.jsonl')).toMatchObject({ outcome: 'ignored', reason: 'the object no longer exists' });
  expect(await scan()).toEqual(before);
  expect(await listKeys(reportKeyOf('elsewhere/'))).toEqual([]);
});

test('a call told to stop saves its place; the next call goes on from there, and the whole equals one call', async () => {
  // 1,200 sessions: three chunks of the import's 500.
  const { ids, text } = jsonlSessions(1200, 1);
  const key = 'incoming/jsonl/large.jsonl';
  await putObject(key, `${text}oops\n`);

  const first = await ingest(key, { shouldStop: () => true });
  expect(first.outcome).toBe('continues');
  expect(await readReport(key)).toMatchObject({ status: 'in_progress', resume_after_line: 500, sessions: 500, calls: 1 });
  const second = await ingest(key, { shouldStop: () => true });
  expect(await readReport(key)).toMatchObject({ status: 'in_progress', resume_after_line: 1000, sessions: 1000, calls: 2 });
  expect(second.outcome).toBe('continues');
  const third = await ingest(key);

  expect(third.outcome).toBe('imported');
  const report = await readReport(key);
  expect(report).toMatchObject({ status: 'complete', lines: 1201, sessions: 1200, events: 1200, calls: 3, rejected: [{ line: 1201, reason: expect.any(String) }] });
  expect(report.resume_after_line).toBeUndefined();
  const sessionItems = (await scan()).filter((item) => ids.includes(item.session_id) && item.SK === '#SESSION');
  expect(sessionItems).toHaveLength(1200);
});

test('a running import saves a checkpoint now and then, so a call that is killed resumes near where it died', async () => {
  const { text } = jsonlSessions(1100, 1);
  const key = 'incoming/jsonl/checkpointed.jsonl';
  await putObject(key, text);
  const s3 = createS3Client({ endpoint: process.env.S3_ENDPOINT! });
  const reportsWritten: ObjectReport[] = [];
  s3.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as { Key?: string; Body?: string };
      if (input.Key === reportKeyOf(key) && typeof input.Body === 'string') reportsWritten.push(JSON.parse(input.Body) as ObjectReport);
      return next(args);
    },
    { step: 'initialize', name: 'reportRecorder' },
  );
  let clock = 0;
  // Each reading of the clock is a minute on: every chunk written is past the checkpoint interval.
  await ingest(key, { s3, now: () => (clock += 60_000), checkpointEveryMs: 60_000 });

  expect(reportsWritten.map((r) => [r.status, r.resume_after_line, r.sessions])).toEqual([
    ['in_progress', 500, 500],
    ['in_progress', 1000, 1000],
    // The last chunk too, just before the final report replaces it.
    ['in_progress', 1100, 1100],
    ['complete', undefined, 1100],
  ]);
});

describe('objects that are not what they claim to be each get a report with a clear reason and change nothing else', () => {
  const hostile: [string, string | Uint8Array, RegExp][] = [
    ['incoming/jsonl/binary.jsonl', Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256), /not valid (UTF-8|JSON)/],
    ['incoming/jsonl/utf16.jsonl', Buffer.from(`\ufeff${jsonlSessions(1).text}`, 'utf16le'), /UTF-16/],
    ['incoming/ubi/utf16.ndjson', Buffer.from('\ufeff{"query_id":"q","user_query":"x","timestamp":1}\n', 'utf16le'), /UTF-16/],
  ];

  test.each(hostile)('%s', async (key, body, reason) => {
    await putObject(key, body);
    const before = await scan();
    const result = await ingest(key);
    expect(result.outcome).toBe('imported');
    const report = await readReport(key);
    expect(report.sessions).toBe(0);
    expect(report.rejected.length).toBeGreaterThan(0);
    for (const line of report.rejected) expect(line.reason).toMatch(reason);
    expect(await scan()).toEqual(before);
  });

  test('an empty object: a complete report of 0 lines', async () => {
    await putObject('incoming/jsonl/empty.jsonl', '');
    const before = await scan();
    expect((await ingest('incoming/jsonl/empty.jsonl')).outcome).toBe('imported');
    expect(await readReport('incoming/jsonl/empty.jsonl')).toMatchObject({ status: 'complete', lines: 0, sessions: 0, rejected: [] });
    expect(await scan()).toEqual(before);
  });

  test('a truncated gzip stream: the report says the object is unreadable from there, and a second delivery does the same nothing', async () => {
    const whole = gzipSync('x'.repeat(200_000));
    await putObject('incoming/jsonl/truncated.jsonl.gz', whole.subarray(0, Math.floor(whole.length / 2)));
    const before = await scan();
    expect((await ingest('incoming/jsonl/truncated.jsonl.gz')).outcome).toBe('failed');
    const report = await readReport('incoming/jsonl/truncated.jsonl.gz');
    expect(report).toMatchObject({ status: 'failed', sessions: 0, error: expect.stringMatching(/^not a readable gzip stream: unexpected end of file/) });
    expect((await ingest('incoming/jsonl/truncated.jsonl.gz')).outcome).toBe('duplicate');
    expect(await scan()).toEqual(before);
  });

  test('a .gz object that is not gzip at all', async () => {
    await putObject('incoming/ubi/plain.ndjson.gz', '{"query_id":"q"}\n');
    expect((await ingest('incoming/ubi/plain.ndjson.gz')).outcome).toBe('failed');
    expect((await readReport('incoming/ubi/plain.ndjson.gz')).error).toMatch(/^not a readable gzip stream: incorrect header check/);
  });

  test('a line longer than the line limit is rejected without being held whole', async () => {
    const { text } = jsonlSessions(1);
    const long = `{"session_id":"${'a'.repeat(33 * 1024 * 1024)}"}`;
    await putObject('incoming/jsonl/long-line.jsonl', `${long}\n${text}`);
    const result = await ingest('incoming/jsonl/long-line.jsonl');
    expect(result.outcome).toBe('imported');
    expect(await readReport('incoming/jsonl/long-line.jsonl')).toMatchObject({
      sessions: 1,
      rejected: [{ line: 1, reason: 'line is longer than 33554432 bytes' }],
    });
  }, 60_000);
});
