/**
 * How many sequential rounds of DynamoDB calls each operation waits for,
 * counted on the handlers' own client (see test/support/round-counter.ts for
 * the definition). A page is two rounds whatever its size, not one per session.
 */
import { documentClient } from '../../shared/data/store-from-env';
import { countRounds } from '../support/round-counter';
import { createTestTable, pageOverHttp, releaseOverHttp, scheduleOverHttp, seedSession, uniqueId } from '../support/handlers';

const counter = countRounds(documentClient);
/** The shards of a batch (test/support/env.ts): a page lists each one, and the batch index for older sessions. */
const LISTINGS = Number(process.env.SHARD_COUNT) + 1;

/** Rounds and calls of one request, measured alone. */
async function measure<T>(request: () => Promise<T>): Promise<{ answer: T; rounds: number; calls: number }> {
  counter.reset();
  const answer = await request();
  return { answer, rounds: counter.rounds(), calls: counter.calls() };
}

let batchId: string;

beforeAll(async () => {
  await createTestTable();
  // A batch of 100 sessions with two events each.
  const ids = await Promise.all(Array.from({ length: 100 }, () => seedSession({}, 2)));
  const answers = await Promise.all(ids.map((id) => scheduleOverHttp(id)));
  batchId = answers[0]!.body.batch_id;
  expect(answers.every((a) => a.body.status === 'scheduled' && a.body.batch_id === batchId)).toBe(true);
});

afterAll(() => counter.detach());

describe('GET /batch/sessions', () => {
  test('a page of 100 sessions with events is 2 rounds: pointer and every shard’s listing together, then every session’s partition together', async () => {
    const { answer, rounds, calls } = await measure(() => pageOverHttp({ batch_id: batchId, limit: 100 }));
    expect(answer.body.sessions).toHaveLength(100);
    expect(answer.body.sessions.every((s: { events: unknown[] }) => s.events.length === 2)).toBe(true);
    expect(rounds).toBe(2);
    expect(calls).toBe(1 + LISTINGS + 100);
  });

  test('a page of 10 is 2 rounds too', async () => {
    const { answer, rounds } = await measure(() => pageOverHttp({ batch_id: batchId, limit: 10, after_number: 50 }));
    expect(answer.body.sessions).toHaveLength(10);
    expect(rounds).toBe(2);
  });

  test('without events it is 2 rounds too (each session’s own assignment confirms its listing); an unknown batch is 1', async () => {
    const withoutEvents = await measure(() => pageOverHttp({ batch_id: batchId, limit: 100, events_limit: 0 }));
    expect(withoutEvents.answer.body.sessions.every((s: { events: unknown[] }) => s.events.length === 0)).toBe(true);
    expect(withoutEvents.rounds).toBe(2);
    expect(withoutEvents.calls).toBe(1 + LISTINGS + 100);
    const unknown = await measure(() => pageOverHttp({ batch_id: '999999' }));
    expect(unknown.answer.status).toBe(404);
    expect(unknown.rounds).toBe(1);
  });
});

describe('POST /session/use-for-improvement', () => {
  // The session and its shard; the shard's fence check and the membership; the commit.
  test('the first scheduling of an eligible session is at most 3 rounds', async () => {
    const id = await seedSession({}, 1);
    const { answer, rounds } = await measure(() => scheduleOverHttp(id));
    expect(answer.body.status).toBe('scheduled');
    expect(rounds).toBeLessThanOrEqual(3);
  });

  test('a repeated scheduling is 1 round, and so is a skip', async () => {
    const id = await seedSession({}, 1);
    await scheduleOverHttp(id);
    const repeated = await measure(() => scheduleOverHttp(id));
    expect(repeated.answer.body.status).toBe('already_scheduled');
    expect(repeated.rounds).toBe(1);
    const withoutEvents = await seedSession({}, 0);
    const skipped = await measure(() => scheduleOverHttp(withoutEvents));
    expect(skipped.answer.body.reason).toBe('no_events');
    expect(skipped.rounds).toBe(1);
  });

  // The session and its fenced shard; the pointer; rolling the release forward (every shard, the batch
  // record, the release record); opening the next batch; placing the shard in it; then the usual two.
  test('the first scheduling after a release, which opens the next batch, is at most 9 rounds', async () => {
    const id = await seedSession({}, 1);
    const released = await releaseOverHttp(uniqueId('r'));
    const { answer, rounds } = await measure(() => scheduleOverHttp(id));
    expect(answer.body).toMatchObject({ status: 'scheduled' });
    expect(answer.body.batch_id > released.body.batch_id).toBe(true);
    expect(rounds).toBeLessThanOrEqual(9);
  });
});

describe('POST /batch/release', () => {
  // The pointer, the release record, the fence, every shard, the batch record, the release record.
  test('a release is at most 6 rounds and a repeated one 2', async () => {
    await scheduleOverHttp(await seedSession({}, 1));
    const releaseId = uniqueId('r');
    const first = await measure(() => releaseOverHttp(releaseId));
    expect(first.answer.status).toBe(200);
    expect(first.rounds).toBeLessThanOrEqual(6);
    const repeated = await measure(() => releaseOverHttp(releaseId));
    expect(repeated.answer.body).toEqual(first.answer.body);
    expect(repeated.rounds).toBe(2);
  });
});
