/**
 * The plateau, at a scale the suite can reach: every key throttled at 1/100
 * of DynamoDB's limits (through-realism.ts), so each shard takes 10 first
 * schedules a second (1 WCU on SHARD#<s> and 1 on MEMBERS#<batch>#<s> each)
 * and this table of 4 shards about 40. Below that nothing is throttled; far
 * above it the service answers 503 with Retry-After, and a client that
 * retries as told loses, duplicates and strands nothing.
 */
import '../support/through-realism';
import { documentClient } from '../../shared/data/store-from-env';
import { shardOf } from '../../shared/domain/numbering';
import { walkBatch } from '../support/batch-walk';
import { createTestTable, releaseOverHttp, scheduleOverHttp, seedSession, type JsonResult } from '../support/handlers';
import { countThrottledAttempts } from '../support/realism-routing';

const SHARDS = Number(process.env.SHARD_COUNT);
/** 10 WCU a second per key at this scale: the schedules one shard takes a second. */
const PER_SHARD_PER_SECOND = 10;
const throttles = countThrottledAttempts(documentClient);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  await createTestTable();
  // Open the batch and place every shard first, then let the buckets fill again.
  const placed = new Set<number>();
  while (placed.size < SHARDS) {
    const id = await seedSession();
    if (placed.has(shardOf(id, SHARDS))) continue;
    expect((await scheduleOverHttp(id)).body.status).toBe('scheduled');
    placed.add(shardOf(id, SHARDS));
  }
  await sleep(1_100);
});

/** Schedules a session, and again after each 503's Retry-After, as a client is told to. */
async function scheduleAsToldTo(sessionId: string, busy: JsonResult[]): Promise<JsonResult> {
  for (;;) {
    const answer = await scheduleOverHttp(sessionId);
    if (answer.status !== 503) return answer;
    busy.push(answer);
    await sleep(Number(answer.headers['retry-after']) * 1000);
  }
}

test('below the ceiling nothing is throttled: half the rate, spread evenly, for 3 seconds', async () => {
  const ids = await Promise.all(Array.from({ length: 3 * (SHARDS * PER_SHARD_PER_SECOND) / 2 }, () => seedSession()));
  const before = throttles.throttled();
  const answers: Promise<JsonResult>[] = [];
  const interval = 1000 / ((SHARDS * PER_SHARD_PER_SECOND) / 2);
  for (const id of ids) {
    answers.push(scheduleOverHttp(id));
    await sleep(interval);
  }
  for (const answer of await Promise.all(answers)) expect(answer).toMatchObject({ status: 200, body: { status: 'scheduled' } });
  expect(throttles.throttled() - before).toBe(0);
});

test('far above it: 503s with Retry-After, and once retried every session is in the batch exactly once', async () => {
  await sleep(1_100);
  const ids = await Promise.all(Array.from({ length: 4 * SHARDS * PER_SHARD_PER_SECOND }, () => seedSession()));
  const busy: JsonResult[] = [];
  const started = performance.now();
  const answers = await Promise.all(ids.map((id) => scheduleAsToldTo(id, busy)));
  const seconds = (performance.now() - started) / 1000;

  expect(busy.length).toBeGreaterThan(0);
  for (const answer of busy) {
    expect(answer.body).toMatchObject({ error: { code: 'service_unavailable' } });
    expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  }
  // Not lost: every session answered 200 in the end; not duplicated: each was "scheduled" once and
  // a 503 never left a commit behind that a retry then contradicts.
  const batchId = answers[0]!.body.batch_id;
  for (const answer of answers) expect(answer).toMatchObject({ status: 200, body: { status: expect.stringMatching(/^(already_)?scheduled$/), batch_id: batchId } });
  // The plateau: no faster than the keys allow (the first second rides on the buckets' burst).
  expect(ids.length / seconds).toBeLessThan(2 * SHARDS * PER_SHARD_PER_SECOND);
  console.log(`${ids.length} schedules offered at once: ${busy.length} answers 503, all done in ${seconds.toFixed(1)} s (${(ids.length / seconds).toFixed(0)}/s; ceiling ${SHARDS * PER_SHARD_PER_SECOND}/s)`);

  // Not stranded: the batch releases, and walking it serves each session once, under its own place.
  expect((await releaseOverHttp(`plateau-${Date.now()}`)).body).toMatchObject({ batch_id: batchId });
  const walked = await walkBatch(batchId);
  const served = new Map(walked.map((s) => [s.session_id, s.session_number]));
  expect(walked).toHaveLength(served.size);
  ids.forEach((id, i) => expect(served.get(id)).toBe(answers[i]!.body.session_number));
}, 120_000);
