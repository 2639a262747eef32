/**
 * How the import reads and judges lines, without a store: byte-level line
 * splitting (UTF-8 checked per line, CRLF, chunk boundaries) and every
 * reason a line is rejected.
 */
import { importSessions, parseLine } from '../../shared/ingest/jsonl';
import { MAX_LINE_BYTES, splitLines } from '../../shared/ingest/lines';
import { fakeWriter } from '../support/fake-writer';
import type { Event, Session } from '../../shared/schemas';

const session = (overrides: Record<string, unknown> = {}) => ({
  session_id: 's1',
  search_query: 'red shoes',
  created_at: 1_700_000_000,
  search_results: [{ object_id: 'p1', rank: 1 }],
  ...overrides,
});
const event = (overrides: Record<string, unknown> = {}) => ({
  event_id: 'e1',
  object_id: 'p1',
  event_type: 'click',
  created_at: 1_700_000_010,
  ...overrides,
});
const bytesOf = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

/** A writer that records instead of writing. */
function recordingWriter() {
  const sessions: Session[] = [];
  const eventBatches: Event[][] = [];
  const writer = fakeWriter({
    putEvents: async (events) => void eventBatches.push([...events]),
    upsertSession: async (s) => void sessions.push(s),
  });
  return { writer, sessions, eventBatches };
}

async function* chunksOf(data: Buffer, size: number) {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}

describe('parseLine', () => {
  test('a session with events: defaults applied, the event session_id filled from the line', () => {
    const parsed = parseLine(bytesOf(session({ events: [event(), event({ event_id: 'e2', session_id: 's1' })] })));
    expect(parsed).toEqual({
      session: { ...session(), is_irrelevant: false, is_payload_search: false },
      events: [
        { ...event(), session_id: 's1' },
        { ...event({ event_id: 'e2' }), session_id: 's1' },
      ],
    });
  });

  test('a session without an events array has no events', () => {
    expect(parseLine(bytesOf(session()))).toMatchObject({ events: [] });
  });

  test.each<[string, unknown, RegExp]>([
    ['invalid JSON', '{"session_id": "s1",', /^not valid JSON/],
    ['a JSON array', '[1, 2]', /must be a JSON object/],
    ['a JSON number', '42', /must be a JSON object/],
    ['a missing field', session({ created_at: undefined }), /created_at is required/],
    ['a wrong type', session({ created_at: 'yesterday' }), /created_at must be a number/],
    ['a bad session_id', session({ session_id: 'a b' }), /session_id must be 1-128 characters/],
    ['an unknown field', session({ clicks: 3 }), /unknown field "clicks"/],
    ['events not an array', session({ events: { e1: event() } }), /events must be an array/],
    ['a bad event', session({ events: [event(), event({ event_id: 'e2', event_type: '' })] }), /^events\[1\]: event_type must not be empty/],
    ['an event of another session', session({ events: [event({ session_id: 's2' })] }), /^events\[0\]: session_id "s2" is not the line's session_id "s1"/],
    ['a duplicate event_id', session({ events: [event(), event({ created_at: 1_700_000_020 })] }), /^events\[1\]: event_id "e1" appears twice/],
    ['a session item over 400 KB', session({ search_meta: { blob: 'x'.repeat(400 * 1024) } }), /^session: item is \d+ bytes, over the \d+-byte limit/],
    ['an event item over 400 KB', session({ events: [event({ meta: { blob: 'x'.repeat(400 * 1024) } })] }), /^events\[0\]: item is \d+ bytes/],
    ['a number DynamoDB cannot store', session({ search_meta: { score: 1e200 } }), /^session: search_meta\.score is a number that cannot be stored/],
    ['nesting deeper than DynamoDB allows', session({ search_meta: JSON.parse('{"a":'.repeat(40) + '1' + '}'.repeat(40)) }), /nested more than 32 levels/],
  ])('rejects %s', (_name, line, reason) => {
    expect(parseLine(bytesOf(line))).toEqual({ reason: expect.stringMatching(reason) });
  });

  test('rejects bytes that are not UTF-8, even inside an otherwise valid line', () => {
    const line = Buffer.concat([bytesOf('{"session_id":"s1","search_query":"'), Buffer.from([0xc3, 0x28]), bytesOf('","created_at":1,"search_results":[]}')]);
    expect(parseLine(line)).toEqual({ reason: 'not valid UTF-8' });
  });
});

describe('splitLines', () => {
  test('splits on \\n at any chunk boundary, drops \\r, keeps a last line without \\n and multi-byte characters whole', async () => {
    const text = 'a\r\n\nbé€😀\nlast';
    for (const size of [1, 2, 3, 5, 1000]) {
      const lines = await collect(splitLines(chunksOf(Buffer.from(text), size)));
      expect(lines.map((l) => Buffer.from(l as Uint8Array).toString())).toEqual(['a', '', 'bé€😀', 'last']);
    }
  });

  test('a line longer than the cap is flagged, not buffered, and the next line is read normally', async () => {
    const huge = Buffer.alloc(MAX_LINE_BYTES + 10, 0x61);
    const lines = await collect(splitLines(chunksOf(Buffer.concat([huge, Buffer.from('\n{}\n')]), 1024 * 1024)));
    expect(lines).toHaveLength(2);
    expect(parseLine(lines[0]!)).toEqual({ reason: `line is longer than ${MAX_LINE_BYTES} bytes` });
    expect(Buffer.from(lines[1] as Uint8Array).toString()).toBe('{}');
  });
});

describe('importSessions', () => {
  const file = (...lines: unknown[]) =>
    chunksOf(Buffer.from(lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n')), 7);

  test('numbers lines from 1 counting blank ones, rejects bad lines by number and imports the rest', async () => {
    const { writer, sessions, eventBatches } = recordingWriter();
    const rejectedAsTheyCome: number[] = [];
    const report = await importSessions(
      file(session({ events: [event()] }), '', '   ', 'oops', session({ session_id: 's2' }), session({ session_id: 's1' })),
      writer,
      { onReject: ({ line }) => rejectedAsTheyCome.push(line) },
    );
    expect(report).toEqual({
      lines: 6,
      sessions: 2,
      events: 1,
      rejected: [
        { line: 4, reason: expect.stringMatching(/^not valid JSON/) },
        { line: 6, reason: 'session_id "s1" already appeared on line 1' },
      ],
      skippedLines: [],
    });
    expect(rejectedAsTheyCome).toEqual([4, 6]);
    expect(sessions.map((s) => s.session_id)).toEqual(['s1', 's2']);
    expect(eventBatches.flat().map((e) => e.event_id)).toEqual(['e1']);
  });

  test('writes in chunks, events before their sessions, at most 25 events per request, reporting progress per chunk', async () => {
    const order: string[] = [];
    const writer = fakeWriter({
      putEvents: async (events) => {
        expect(events.length).toBeLessThanOrEqual(25);
        order.push(...events.map((e) => `event ${e.session_id}`));
      },
      upsertSession: async (s) => void order.push(`session ${s.session_id}`),
    });
    const lines = Array.from({ length: 7 }, (_, i) =>
      session({ session_id: `s${i}`, events: Array.from({ length: 30 }, (_, k) => event({ event_id: `e${k}` })) }),
    );
    const progress: number[] = [];
    const report = await importSessions(file(...lines), writer, {
      chunkSessions: 3,
      concurrency: 2,
      onProgress: (p) => progress.push(p.sessions),
    });
    expect(report).toMatchObject({ sessions: 7, events: 210, rejected: [] });
    expect(progress).toEqual([3, 6, 7]);
    for (let i = 0; i < 7; i++) {
      expect(order.lastIndexOf(`event s${i}`)).toBeLessThan(order.indexOf(`session s${i}`));
    }
  });

  test('a write that fails stops the import and names the lines it was writing', async () => {
    const writer = fakeWriter({
      upsertSession: async (s) => {
        if (s.session_id === 's3') throw new Error('throttled');
      },
    });
    const lines = Array.from({ length: 5 }, (_, i) => session({ session_id: `s${i}` }));
    await expect(importSessions(file(...lines), writer, { chunkSessions: 2 })).rejects.toMatchObject({
      name: 'ImportWriteError',
      message: 'Writing lines 3-4 failed: throttled',
    });
  });
});
