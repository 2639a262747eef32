/**
 * The import against the embedded store: a generated file of 10,000 sessions
 * with bad lines mixed in is imported with each bad line reported by number,
 * and importing its first lines again changes nothing, even after a session
 * was scheduled in between.
 */
import { createReadStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importSessions } from '../../shared/ingest/jsonl';
import { documentClient } from '../../shared/data/store-from-env';
import { scanTable } from '../support/scan-table';
import { createTestTable, scheduleOverHttp, uniqueId, writer } from '../support/handlers';

const SESSIONS = 10_000;
/** Lines re-imported to show idempotency: past two of the bad lines and the blank one. */
const HEAD_LINES = 2_004;
// The 10,000-session import takes 15-25 s on a busy 2-core machine (see the report).
jest.setTimeout(120_000);
const prefix = uniqueId('imp');
const sessionId = (i: number) => `${prefix}-${i}`;

function sessionLine(i: number): Record<string, unknown> {
  const id = sessionId(i);
  return {
    session_id: id,
    search_query: `query ${i % 97}`,
    created_at: 1_700_000_000 + i,
    search_results: [{ object_id: `p${i % 13}`, rank: 1 }, { object_id: `p${(i + 1) % 13}`, rank: 2 }],
    ...(i % 5 === 0 ? { is_irrelevant: true } : {}),
    ...(i % 7 === 0 ? { search_meta: { locale: 'en-US' } } : {}),
    // Every third session has no events; the others one or two, some without session_id (filled from the line).
    events: Array.from({ length: i % 3 }, (_, k) => ({
      event_id: `e${k}`,
      ...(k === 0 ? { session_id: id } : {}),
      object_id: `p${k}`,
      event_type: k === 0 ? 'view' : 'click',
      created_at: 1_700_000_100 + i + k,
    })),
  };
}
const eventsIn = (i: number) => i % 3;

/** Bad lines, inserted after the given valid session index, with the reason each must be rejected for. */
const BAD_LINES: Array<{ after: number; bytes: Buffer; reason: RegExp }> = [
  { after: 10, bytes: Buffer.from('{"session_id": "broken",'), reason: /^not valid JSON/ },
  { after: 1500, bytes: json({ ...sessionLine(-1), created_at: 'yesterday' }), reason: /created_at must be a number/ },
  {
    after: 3000,
    bytes: Buffer.concat([Buffer.from(`{"session_id":"${prefix}-utf8","search_query":"caf`), Buffer.from([0xe9]), Buffer.from('","created_at":1,"search_results":[]}')]),
    reason: /^not valid UTF-8$/,
  },
  { after: 4500, bytes: json({ ...sessionLine(-2), search_meta: { blob: 'x'.repeat(401 * 1024) } }), reason: /^session: item is \d+ bytes/ },
  {
    after: 6000,
    bytes: json({ ...sessionLine(-3), events: [{ event_id: 'e1', object_id: 'p', event_type: 'view', created_at: 1 }, { event_id: 'e1', object_id: 'p', event_type: 'click', created_at: 2 }] }),
    reason: /^events\[1\]: event_id "e1" appears twice/,
  },
  { after: 7500, bytes: json({ ...sessionLine(-4), referrer: 'x' }), reason: /unknown field "referrer"/ },
  { after: 9000, bytes: json(sessionLine(42)), reason: /already appeared on line/ },
];

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

/** Writes the file and returns the line numbers of the bad lines, in order. */
function writeFile(path: string): number[] {
  const lines: Buffer[] = [];
  const badLineNumbers: number[] = [];
  for (let i = 0; i < SESSIONS; i++) {
    lines.push(json(sessionLine(i)));
    for (const bad of BAD_LINES.filter((b) => b.after === i)) {
      lines.push(bad.bytes);
      badLineNumbers.push(lines.length);
    }
    if (i === 2000) lines.push(Buffer.from('   ')); // blank: skipped, but counted as a line
  }
  writeFileSync(path, Buffer.concat(lines.flatMap((line) => [line, Buffer.from('\r\n')])));
  return badLineNumbers;
}


let path: string;
let headPath: string;
let badLineNumbers: number[];

beforeAll(async () => {
  await createTestTable();
  const dir = mkdtempSync(join(tmpdir(), 'import-file-'));
  path = join(dir, 'sessions.jsonl');
  badLineNumbers = writeFile(path);
  // The re-imports use the file's first lines: each line is written on its own, so a prefix
  // shows idempotency as well as the whole file would, at a fifth of the time (see the report).
  headPath = join(dir, 'sessions-head.jsonl');
  const text = readFileSync(path);
  let end = 0;
  for (let line = 0; line < HEAD_LINES; line++) end = text.indexOf('\n', end) + 1;
  writeFileSync(headPath, text.subarray(0, end));
});

test('10,000 sessions with bad lines: every bad line reported by number, the rest imported', async () => {
  const report = await importSessions(createReadStream(path), writer());
  const expectedEvents = Array.from({ length: SESSIONS }, (_, i) => eventsIn(i)).reduce((a, b) => a + b, 0);
  expect(report.sessions).toBe(SESSIONS);
  expect(report.events).toBe(expectedEvents);
  expect(report.lines).toBe(SESSIONS + BAD_LINES.length + 1);
  expect(report.rejected).toEqual(BAD_LINES.map((bad, i) => ({ line: badLineNumbers[i], reason: expect.stringMatching(bad.reason) })));

  const items = await scanTable(documentClient, process.env.TABLE_NAME!);
  expect(items).toHaveLength(SESSIONS + expectedEvents);
  const fromRejectedLines = items.filter((item) => [`${prefix}-utf8`, `${prefix}--`].some((id) => String(item.session_id).startsWith(id)));
  expect(fromRejectedLines).toEqual([]);
});

test('importing the same lines again changes nothing, and keeps the batch assignment of a session scheduled in between', async () => {
  const scheduled = await scheduleOverHttp(sessionId(1));
  expect(scheduled.body.status).toBe('scheduled');
  const before = await scanTable(documentClient, process.env.TABLE_NAME!);
  const again = await importSessions(createReadStream(headPath), writer());
  expect(again.lines).toBe(HEAD_LINES);
  expect(again.sessions).toBe(2_001);
  expect(again.rejected.map((r) => r.line)).toEqual(badLineNumbers.filter((line) => line <= HEAD_LINES));
  expect(await scanTable(documentClient, process.env.TABLE_NAME!)).toEqual(before);
  expect((await scheduleOverHttp(sessionId(1))).body).toEqual({ ...scheduled.body, status: 'already_scheduled' });
});
