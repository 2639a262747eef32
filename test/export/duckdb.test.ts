/**
 * A reader nobody here wrote: DuckDB reads the export as a consumer would
 * (the parts the manifest lists, fetched from the local S3 server into a
 * directory), and what it sees, counts and fields, is what a walk of the same
 * batch through the page API (the GetBatchPage handler) serves.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createTestBucket, exportDirect, readObject, seedReleasedBatch } from '../support/export';
import { createTestTable, pageOverHttp } from '../support/handlers';
import type { Manifest } from '../../shared/export/layout';

let dir: string;

beforeAll(async () => {
  await createTestTable();
  await createTestBucket();
  dir = mkdtempSync(path.join(tmpdir(), 'duckdb-export-'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every session of the batch as the API pages it, following last_number. */
async function pageWalk(batchId: string) {
  const sessions: any[] = [];
  let afterNumber = 0;
  for (;;) {
    const page = await pageOverHttp({ batch_id: batchId, after_number: afterNumber, limit: 2, events_limit: 1000 });
    expect(page.status).toBe(200);
    if (page.body.last_number === null) return sessions;
    sessions.push(...page.body.sessions);
    afterNumber = page.body.last_number;
  }
}

test('DuckDB reads the exported parts: the same sessions, events and fields as the page API serves', async () => {
  const { batchId, release } = await seedReleasedBatch([
    { overrides: { search_query: 'red shoes', user_id: 'u-1' }, events: 3 },
    { overrides: { search_query: 'Größe 42 👟', is_irrelevant: true }, events: 0 },
    { overrides: { search_query: 'usb-c cable', user_id: 'u-2' }, events: 7 },
    { overrides: { search_query: 'lamp' }, events: 1 },
    { overrides: { search_query: 'desk', user_id: 'u-3' }, events: 12 },
  ]);
  const answer = (await exportDirect({ batch_id: batchId, release_id: release.release_id, released_at: release.released_at, cursor: null })) as {
    done: true;
    manifest_key: string;
  };
  // As `aws s3 cp --recursive` would: each part the manifest lists, into a directory.
  const manifest = JSON.parse((await readObject(answer.manifest_key)).toString()) as Manifest;
  for (const part of manifest.parts) writeFileSync(path.join(dir, path.basename(part.key)), await readObject(part.key));

  const duck = await (await DuckDBInstance.create()).connect();
  const files = path.join(dir, '*.jsonl.gz').replace(/'/g, "''");
  const totals = (await duck.runAndReadAll(`SELECT count(*) AS sessions, sum(len(events)) AS events FROM read_json_auto('${files}')`)).getRowObjectsJson();
  const rows = (
    await duck.runAndReadAll(
      `SELECT session_id, batch_id, session_number, search_query, user_id, is_irrelevant, len(events) AS events,
              events[1].event_id AS first_event, events[-1].created_at AS last_event_at
         FROM read_json_auto('${files}') ORDER BY session_number`,
    )
  ).getRowObjectsJson();
  duck.closeSync();

  const walked = await pageWalk(batchId);
  expect(walked).toHaveLength(5);
  expect(totals).toEqual([{ sessions: '5', events: String(3 + 0 + 7 + 1 + 12) }]);
  expect(rows).toEqual(
    walked.map((s) => ({
      session_id: s.session_id,
      batch_id: batchId,
      session_number: String(s.session_number),
      search_query: s.search_query,
      user_id: s.user_id ?? null,
      is_irrelevant: s.is_irrelevant,
      events: String(s.events.length),
      first_event: s.events[0]?.event_id ?? null,
      last_event_at: s.events.length ? String(s.events.at(-1).created_at) : null,
    })),
  );
}, 60_000);
