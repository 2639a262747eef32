/**
 * Order independence, as the ingest of many S3 objects needs it: a file cut
 * into objects (contiguous pieces, or its lines shuffled first), imported in
 * any order, some objects twice, each run into a fresh table, leaves exactly
 * the table (a scan of every item) that one import of the whole file leaves.
 * For the UBI demo file, where a search's query, impressions and events then
 * land in different objects, and for a JSON Lines file.
 *
 * 8 runs per format (fast-check, no shrinking), each into a fresh table;
 * a UBI run imports a quarter of the demo file about one and a half times
 * over, in chunks of 20 or 500 queries. About 40 s on a 2-core machine.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { DEMO_DATA_FILE } from '../../infra/local/demo-data';
import { ensureTable } from '../../infra/local/local-store';
import { SessionWriter } from '../../shared/data/session-writer';
import { documentClient } from '../../shared/data/store-from-env';
import { importSessions } from '../../shared/ingest/jsonl';
import { importUbi } from '../../shared/ingest/ubi';
import { makeEvent, makeSession } from '../support/fixtures';
import { scanTable, type Item } from '../support/scan-table';

const RUNS = 8;
jest.setTimeout(240_000);

/**
 * The demo file's documents (with their bulk action lines) of the query ids
 * that begin with 0-3, a quarter of them, in file order: searches with
 * several query documents, impressions and events, events whose query is
 * not in the file, and events without a query_id, at a quarter of the time.
 */
const UBI_LINES = (() => {
  const lines = readFileSync(DEMO_DATA_FILE, 'utf8').split('\n').filter((line) => line !== '');
  const out: string[] = [];
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const queryId = JSON.parse(lines[i + 1]!).query_id as string | undefined;
    if (!queryId || /^[0-3]/.test(queryId)) out.push(lines[i]!, lines[i + 1]!);
  }
  return out;
})();

/** 150 sessions of 0-3 events each, some sharing created_at, as the JSONL import reads them. */
const JSONL_LINES = Array.from({ length: 150 }, (_, i) => {
  const session = makeSession({ session_id: `order-${i}`, created_at: 1_700_000_000 + (i % 17) });
  const events = Array.from({ length: i % 4 }, (_, k) => makeEvent(session.session_id, { event_id: `e${k}`, created_at: session.created_at + (k % 2) }));
  return JSON.stringify({ ...session, events });
});

type Importer = (text: string, writer: SessionWriter, chunkSessions: number) => Promise<unknown>;
const bytes = (text: string) =>
  (async function* () {
    yield Buffer.from(text);
  })();
const ubi: Importer = (text, writer, chunkSessions) => importUbi(bytes(text), writer, { chunkSessions });
const jsonl: Importer = (text, writer, chunkSessions) => importSessions(bytes(text), writer, { chunkSessions });

let tables = 0;
async function freshTable(): Promise<string> {
  const name = `${process.env.TABLE_NAME}-${++tables}`;
  await ensureTable(process.env.DYNAMODB_ENDPOINT!, name);
  return name;
}

/** The table one import of the whole file leaves. */
async function wholeImport(lines: string[], importer: Importer): Promise<Item[]> {
  const table = await freshTable();
  await importer(lines.join('\n') + '\n', new SessionWriter(documentClient, table), 500);
  return scanTable(documentClient, table);
}

/** How a file is cut into objects and delivered: pieces, their order, which come twice, the chunk size. */
const delivery = (lineCount: number) =>
  fc.record({
    shuffleLines: fc.boolean(),
    lineOrder: fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: lineCount, maxLength: lineCount }),
    cuts: fc.uniqueArray(fc.integer({ min: 1, max: lineCount - 1 }), { minLength: 1, maxLength: 7 }),
    pieceOrder: fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }),
    twice: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
    chunkSessions: fc.constantFrom(20, 500),
  });

type Delivery = ReturnType<typeof delivery> extends fc.Arbitrary<infer D> ? D : never;

/** The objects in the order they are imported, repeats included. */
function objectsOf(lines: string[], d: Delivery): string[] {
  const ordered = d.shuffleLines ? lines.map((line, i) => [d.lineOrder[i]!, line] as const).sort(([a], [b]) => a - b).map(([, line]) => line) : lines;
  const cuts = [0, ...[...d.cuts].sort((a, b) => a - b), ordered.length];
  const pieces = cuts.slice(1).map((end, i) => ordered.slice(cuts[i], end).join('\n') + '\n');
  const order = pieces.map((_, i) => i).sort((a, b) => d.pieceOrder[a]! - d.pieceOrder[b]!);
  return order.flatMap((i) => (d.twice[i] ? [pieces[i]!, pieces[i]!] : [pieces[i]!]));
}

async function checkOrderIndependence(lines: string[], importer: Importer) {
  const expected = await wholeImport(lines, importer);
  await fc.assert(
    fc.asyncProperty(delivery(lines.length), async (d) => {
      const table = await freshTable();
      const writer = new SessionWriter(documentClient, table);
      for (const object of objectsOf(lines, d)) await importer(object, writer, d.chunkSessions);
      expect(await scanTable(documentClient, table)).toEqual(expected);
    }),
    // No shrinking: each run is seconds of imports; the first failing delivery is reported as it is.
    { numRuns: RUNS, endOnFailure: true },
  );
}

test('UBI: the demo file cut into objects imported in any order, some twice, leaves the table one import of it leaves', () =>
  checkOrderIndependence(UBI_LINES, ubi));

test('JSON Lines: the same for sessions with their events', () => checkOrderIndependence(JSONL_LINES, jsonl));
