/**
 * What one table carries, counted on the wire as DynamoDB bills it: the real
 * handlers run against the realism proxy (test/support/dynamo-realism), which
 * meters every request per partition key value by DynamoDB's rules (1 KB
 * write units on max(item before, item after); 4 KB read units, halved when
 * eventually consistent; index entries on their own keys). dynalite's own
 * ReturnConsumedCapacity is not used: it bills no index writes.
 *
 * For one session size, in a table of its own:
 *  - first schedules of `sessions` sessions (after one schedule per shard has
 *    placed the shards, so opening the batch is not counted in), with the
 *    write and read units on the hottest key: DynamoDB's per-key limits
 *    (1,000 WCU and 3,000 RCU a second) divided by the units per schedule on
 *    that key give the schedules per second before any key throttles;
 *  - the same sessions scheduled again, a page of 100, a release, and the
 *    first schedule after it (which opens the next batch);
 *  - with `legacy`, the counter layout's first schedule (its own requests,
 *    test/support/legacy-layout.ts) on sessions of the same size in another
 *    table, for its ceiling in the same run.
 *
 * Input (argv[2], JSON): ScaleInput. Environment: the bench's service
 * environment with TABLE_NAME the table to create; DYNAMODB_ENDPOINT is
 * dynalite, the proxy goes in front of it before the handlers load.
 */
import { ensureTable } from '../../infra/local/local-store';
import { createDocumentClient } from '../../shared/data/client';
import { itemBytes } from '../../shared/data/item-limits';
import { eventItem, sessionItem } from '../../shared/data/items';
import { SessionWriter } from '../../shared/data/session-writer';
import { DEFAULT_SHARDS, shardOf } from '../../shared/domain/numbering';
import type { Session } from '../../shared/schemas';
import { startRealismProxy, type PartitionUsage, type RealismProxy } from '../support/dynamo-realism/proxy';
import { legacySchedule } from '../support/legacy-layout';
import { benchEvents, benchSession, benchSessionId } from './fixtures';
import { expectStatus, invokePage, invokeRelease, invokeSchedule, loadHandlers } from './invoke';
import { forEachLimited } from './seed';
import { answerParent } from './workers';

/** DynamoDB's limits per partition key value, per second. */
export const KEY_LIMITS = { wcu: 1_000, rcu: 3_000 } as const;

export interface ScaleInput {
  /** The session item's size in bytes, as DynamoDB counts it. */
  sessionBytes: number;
  sessions: number;
  eventsPerSession: number;
  concurrency: number;
  /** Also measure the counter layout's first schedule, in table `${TABLE_NAME}-counter`. */
  legacy: boolean;
}

export interface HotKey {
  key: string;
  /** Units per schedule on that key. */
  perSchedule: number;
}

export interface Ceiling {
  schedules: number;
  wcuPerSchedule: number;
  rcuPerSchedule: number;
  hottestWrite: HotKey;
  hottestRead: HotKey;
  /** min(1,000 ÷ hottest write units, 3,000 ÷ hottest read units) per schedule: schedules a second before a key throttles. */
  perSecond: number;
}

export interface OperationCapacity {
  operation: string;
  wcu: number;
  rcu: number;
  keys: number;
}

export interface ScaleResult {
  sessionBytes: number;
  eventBytes: number;
  shards: number;
  firstSchedules: Ceiling;
  operations: OperationCapacity[];
  counterLayout?: Ceiling;
}

answerParent(async (): Promise<ScaleResult> => {
  const input = JSON.parse(process.argv[2]!) as ScaleInput;
  const tableName = process.env.TABLE_NAME!;
  const dynalite = process.env.DYNAMODB_ENDPOINT!;
  const shards = process.env.SHARD_COUNT ? Number(process.env.SHARD_COUNT) : DEFAULT_SHARDS;
  const direct = createDocumentClient({ endpoint: dynalite });
  const proxy = await startRealismProxy({ target: dynalite });
  // The handlers build their client when they load: point them at the proxy first.
  process.env.DYNAMODB_ENDPOINT = proxy.endpoint;
  const handlers = await loadHandlers();

  try {
    await ensureTable(dynalite, tableName);
    const sessions = await seed(direct, tableName, input, 'scale');
    const eventBytes = itemBytes(eventItem(benchEvents(sessions[0]!, 1)[0]!));

    // One schedule per shard first: it opens the batch and places its shard, which happens once a batch.
    const placers = new Set<string>();
    const seen = new Set<number>();
    for (const session of sessions) {
      const shard = shardOf(session.session_id, shards);
      if (!seen.has(shard)) {
        seen.add(shard);
        placers.add(session.session_id);
      }
    }
    for (const id of placers) expectScheduled(await invokeSchedule(handlers, id), 'placing a shard');
    const measured = sessions.filter((s) => !placers.has(s.session_id)).map((s) => s.session_id);

    proxy.meter.reset();
    await forEachLimited(measured.length, input.concurrency, async (i) =>
      expectScheduled(await invokeSchedule(handlers, measured[i]!), 'first schedule'),
    );
    const firstSchedules = ceilingOf(proxy, measured.length);

    const operations: OperationCapacity[] = [
      { operation: 'schedule: first time (mean)', wcu: firstSchedules.wcuPerSchedule, rcu: firstSchedules.rcuPerSchedule, keys: 3 },
    ];
    const measure = async (operation: string, run: () => Promise<{ status: number; body: string }>) => {
      proxy.meter.reset();
      expectStatus(await run(), 200, operation);
      const { wcu, rcu } = proxy.meter.totals();
      operations.push({ operation, wcu, rcu, keys: proxy.meter.keys().length });
    };
    await measure('schedule: already scheduled', () => invokeSchedule(handlers, measured[0]!));
    await measure('page: 100 sessions', () => invokePage(handlers, { batchId: '000001', afterNumber: 0, limit: 100, eventsLimit: 100 }));
    await measure('release', () => invokeRelease(handlers, 'bench-scale-release'));
    const [next] = await seed(direct, tableName, { ...input, sessions: 1 }, 'scale-next');
    await measure('schedule: first after a release (opens the next batch)', () => invokeSchedule(handlers, next!.session_id));

    let counterLayout: Ceiling | undefined;
    if (input.legacy) {
      const legacyTable = `${tableName}-counter`;
      await ensureTable(dynalite, legacyTable);
      const legacySessions = await seed(direct, legacyTable, input, 'counter');
      const db = createDocumentClient({ endpoint: proxy.endpoint });
      // The first schedule opens the counter layout's batch: not counted, as above.
      await legacySchedule(db, legacyTable, legacySessions[0]!.session_id, 1);
      proxy.meter.reset();
      await forEachLimited(legacySessions.length - 1, input.concurrency, async (i) => {
        if (!(await legacySchedule(db, legacyTable, legacySessions[i + 1]!.session_id, 1))) throw new Error('counter layout: not scheduled');
      });
      counterLayout = ceilingOf(proxy, legacySessions.length - 1);
      db.destroy();
    }
    return { sessionBytes: input.sessionBytes, eventBytes, shards, firstSchedules, operations, counterLayout };
  } finally {
    direct.destroy();
    await proxy.close();
  }
});

function expectScheduled(result: { status: number; body: string }, what: string) {
  expectStatus(result, 200, what);
  if ((JSON.parse(result.body) as { status: string }).status !== 'scheduled') throw new Error(`${what}: ${result.body}`);
}

function ceilingOf(proxy: RealismProxy, schedules: number): Ceiling {
  const totals = proxy.meter.totals();
  const hot = (usage: PartitionUsage | undefined, units: 'wcu' | 'rcu'): HotKey => ({
    key: usage ? `${usage.index ? `${usage.index} ` : ''}${usage.partitionKey}` : 'none',
    perSchedule: usage ? usage[units] / schedules : 0,
  });
  const hottestWrite = hot(proxy.meter.hottest('write'), 'wcu');
  const hottestRead = hot(proxy.meter.hottest('read'), 'rcu');
  const perSecond = Math.min(
    hottestWrite.perSchedule > 0 ? KEY_LIMITS.wcu / hottestWrite.perSchedule : Infinity,
    hottestRead.perSchedule > 0 ? KEY_LIMITS.rcu / hottestRead.perSchedule : Infinity,
  );
  return {
    schedules,
    wcuPerSchedule: totals.wcu / schedules,
    rcuPerSchedule: totals.rcu / schedules,
    hottestWrite,
    hottestRead,
    perSecond: Math.floor(perSecond),
  };
}

/** A session whose stored item is exactly `bytes` bytes: the sample-shaped bench session, padded in search_meta. */
function sessionOfSize(id: string, n: number, bytes: number): Session {
  const base = benchSession(id, n);
  const padded = { ...base, search_meta: { ...base.search_meta, filler: '' } };
  const missing = bytes - itemBytes(sessionItem(padded));
  if (missing < 0) throw new Error(`A bench session is larger than ${bytes} bytes`);
  return { ...padded, search_meta: { ...padded.search_meta, filler: 'x'.repeat(missing) } };
}

async function seed(db: ReturnType<typeof createDocumentClient>, tableName: string, input: ScaleInput, prefix: string) {
  const writer = new SessionWriter(db, tableName);
  const sessions = Array.from({ length: input.sessions }, (_, i) => sessionOfSize(benchSessionId(prefix, i + 1), i + 1, input.sessionBytes));
  await forEachLimited(Math.ceil(sessions.length / 5), 16, (i) =>
    writer.putEvents(sessions.slice(i * 5, i * 5 + 5).flatMap((s) => benchEvents(s, input.eventsPerSession))),
  );
  await forEachLimited(sessions.length, 16, async (i) => void (await writer.upsertSession(sessions[i]!)));
  return sessions;
}
