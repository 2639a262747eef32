/**
 * npm run soak — sustained mixed traffic against the local server, then every
 * invariant checked over the whole store (the README's guarantees 1–4 and 6).
 *
 * In one process: dynalite (in memory) and the local server, both on free
 * loopback ports; sessions loaded through the import logic; autocannon drives
 * schedule (new and repeated sessions), page and repeated-release traffic
 * while a timer releases with fresh ids (sometimes two racing ids, sometimes
 * the same id twice at once). Afterwards: a scan of the table, the answers
 * every client got, and a walk of every batch by last_number must all agree.
 *
 * Prints requests, answers by status, p50/p99 latency per endpoint and every
 * violation; exits 1 on any 5xx, socket error or violation.
 *
 *   SOAK_SECONDS=60 SOAK_CONNECTIONS=32 SOAK_SESSIONS=3000 SOAK_RELEASE_MS=2000 npm run soak
 */
import autocannon from 'autocannon';
import { randomUUID } from 'node:crypto';
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { ensureTable } from '../../infra/local/local-store';
import { batchIdOf, batchSeqOf } from '../../shared/domain/model';
import { routeNamed } from '../../shared/routes';
import { scanTable } from '../support/scan-table';

const CONFIG = {
  seconds: Number(process.env.SOAK_SECONDS ?? 60),
  connections: Number(process.env.SOAK_CONNECTIONS ?? 32),
  sessions: Number(process.env.SOAK_SESSIONS ?? 3_000),
  releaseEveryMs: Number(process.env.SOAK_RELEASE_MS ?? 2_000),
};
/** A schedule request in flight at release may still land in the batch until its own timeout. */
const SETTLE_SECONDS = routeNamed('ScheduleSession').timeoutSeconds;
/** A fresh object each time: autocannon writes content-length into the headers it is given. */
const jsonHeaders = () => ({ 'content-type': 'application/json' });

type Endpoint = 'schedule' | 'page' | 'release';
type SessionKind = 'withEvents' | 'irrelevant' | 'payload' | 'noEvents';

interface Answer {
  start: number;
  end: number;
  status: number;
  body: any;
}

const sessionKind = (i: number): SessionKind =>
  i % 10 === 0 ? 'payload' : i % 10 === 1 ? 'noEvents' : i % 10 === 2 ? 'irrelevant' : 'withEvents';

/** What every client saw, kept to check against the store afterwards. */
class Observations {
  readonly latencies: Record<Endpoint, number[]> = { schedule: [], page: [], release: [] };
  readonly statuses: Record<Endpoint, Map<number, number>> = { schedule: new Map(), page: new Map(), release: new Map() };
  readonly schedules = new Map<string, Answer[]>();
  /** Schedule requests sent and not answered: autocannon drops what is in flight when its time is up. */
  readonly unanswered = new Map<string, number>();
  readonly releases = new Map<string, Answer[]>();
  readonly violations: string[] = [];
  /** Highest batch any answer has named so far: pages aim at batches known to exist. */
  knownBatchSeq = 0;
  releasedIds: string[] = [];

  record(endpoint: Endpoint, answer: Answer): void {
    this.latencies[endpoint].push(answer.end - answer.start);
    this.statuses[endpoint].set(answer.status, (this.statuses[endpoint].get(answer.status) ?? 0) + 1);
    const seq = typeof answer.body?.batch_id === 'string' ? batchSeqOf(answer.body.batch_id) : undefined;
    if (answer.status === 200 && seq !== undefined && endpoint !== 'page') this.knownBatchSeq = Math.max(this.knownBatchSeq, seq);
  }

  violation(message: string): void {
    this.violations.push(message);
  }
}

const parse = (text: string): any => {
  try {
    return JSON.parse(text);
  } catch {
    return { unparsable: text.slice(0, 200) };
  }
};

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** Loads CONFIG.sessions sessions through the import logic: one JSONL line each. */
async function seedSessions(): Promise<{ ids: string[]; kinds: Map<string, SessionKind> }> {
  const { importSessions } = await import('../../shared/ingest/jsonl');
  const { SessionWriter } = await import('../../shared/data/session-writer');
  const { documentClient } = await import('../../shared/data/store-from-env');
  const ids: string[] = [];
  const kinds = new Map<string, SessionKind>();
  const lines = async function* () {
    for (let i = 0; i < CONFIG.sessions; i++) {
      const id = `soak-${i}`;
      const kind = sessionKind(i);
      ids.push(id);
      kinds.set(id, kind);
      const eventCount = kind === 'withEvents' || kind === 'payload' ? 1 + (i % 3) : 0;
      const events = Array.from({ length: eventCount }, (_, e) => ({
        event_id: `e${e}`,
        object_id: `p${e}`,
        event_type: 'click',
        created_at: 1_700_000_000 + e,
      }));
      yield Buffer.from(
        JSON.stringify({
          session_id: id,
          search_query: `query ${i}`,
          created_at: 1_700_000_000,
          search_results: [{ object_id: 'p0', rank: 1 }],
          is_irrelevant: kind === 'irrelevant',
          is_payload_search: kind === 'payload',
          events,
        }) + '\n',
      );
    }
  };
  const report = await importSessions(lines(), new SessionWriter(documentClient, process.env.TABLE_NAME!));
  if (report.rejected.length > 0 || report.sessions !== CONFIG.sessions) {
    throw new Error(`seeding failed: ${JSON.stringify({ ...report, rejected: report.rejected.slice(0, 3) })}`);
  }
  return { ids, kinds };
}

/** Releases with fresh ids on a timer; every third tick the same id twice at once, every fifth two ids racing. */
function startReleaser(baseUrl: string, seen: Observations): { stop: () => Promise<void> } {
  let tick = 0;
  const inFlight = new Set<Promise<void>>();
  const release = (releaseId: string) => {
    const start = performance.now();
    const done = fetch(`${baseUrl}/batch/release`, {
      method: 'POST',
      headers: jsonHeaders(),
      body: JSON.stringify({ release_id: releaseId }),
    })
      .then(async (response) => {
        const answer = { start, end: performance.now(), status: response.status, body: parse(await response.text()) };
        recordRelease(seen, releaseId, answer);
      })
      .catch((error: Error) => seen.violation(`release ${releaseId}: request failed: ${error.message} (${String(error.cause)})`));
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
  };
  const timer = setInterval(() => {
    tick++;
    const id = `rel-${tick}-${randomUUID().slice(0, 8)}`;
    release(id);
    if (tick % 3 === 0) release(id);
    if (tick % 5 === 0) release(`${id}-rival`);
  }, CONFIG.releaseEveryMs);
  return {
    stop: async () => {
      clearInterval(timer);
      await Promise.all(inFlight);
    },
  };
}

function recordRelease(seen: Observations, releaseId: string, answer: Answer): void {
  seen.record('release', answer);
  rememberRelease(seen, releaseId, answer);
}

/** Keeps a release answer for the checks, and a successful id for replays. */
function rememberRelease(seen: Observations, releaseId: string, answer: Answer): void {
  seen.releases.set(releaseId, [...(seen.releases.get(releaseId) ?? []), answer]);
  if (answer.status === 200 && !seen.releasedIds.includes(releaseId)) seen.releasedIds.push(releaseId);
}

/** One autocannon run; `next` builds each request and `onAnswer` receives what came back. */
function drive(
  baseUrl: string,
  connections: number,
  seconds: number,
  endpoint: Endpoint,
  seen: Observations,
  next: () => { method: 'GET' | 'POST'; path: string; body?: string; meta?: Record<string, unknown> },
  onAnswer: (answer: Answer, meta: Record<string, unknown>) => void,
) {
  return autocannon({
    url: baseUrl,
    connections,
    duration: seconds,
    timeout: 30,
    requests: [
      {
        setupRequest: (request, context) => {
          const built = next();
          context.meta = built.meta ?? {};
          context.start = performance.now();
          return {
            ...request,
            method: built.method,
            path: built.path,
            headers: built.body ? jsonHeaders() : {},
            ...(built.body ? { body: built.body } : {}),
          };
        },
        onResponse: (status, body, context) => {
          const answer = { start: context.start as number, end: performance.now(), status, body: parse(body) };
          seen.record(endpoint, answer);
          onAnswer(answer, context.meta as Record<string, unknown>);
        },
      },
    ],
  });
}


/** Every invariant over the whole store, the answers clients got, and a walk of every batch. */
async function checkInvariants(baseUrl: string, seen: Observations, kinds: Map<string, SessionKind>): Promise<Record<string, number>> {
  const { toAssignment, toRelease, toStoredSession } = await import('../../shared/data/items');
  const { assignmentKey, collectingPointerKey, isSessionSortKey, membershipKey, releaseKey } = await import('../../shared/data/keys');
  const { shardOf } = await import('../../shared/domain/numbering');
  const { TABLE } = await import('../../shared/data/table');
  const { sessionStore } = await import('../../shared/data/dynamo-store');
  const store = sessionStore((await import('../../shared/data/store-from-env')).table);
  const fail = (message: string) => seen.violation(message);

  const { documentClient } = await import('../../shared/data/store-from-env');
  const items = await scanTable(documentClient, process.env.TABLE_NAME!);
  const releaseSortKey = releaseKey('x')[TABLE.sortKey];
  const pointerKey = collectingPointerKey();
  const sessions = items.filter((item) => isSessionSortKey(item[TABLE.sortKey]));
  const assignmentSortKey = assignmentKey('x')[TABLE.sortKey];
  const assignmentItems = new Map(
    items.filter((item) => item[TABLE.sortKey] === assignmentSortKey).map((item) => [item.session_id as string, item]),
  );
  const keyOf = (item: Record<string, unknown>) => `${item[TABLE.partitionKey]}|${item[TABLE.sortKey]}`;
  const stored = new Set(items.map(keyOf));
  const releases = items.filter((item) => item[TABLE.sortKey] === releaseSortKey).map(toRelease);
  const pointer = await store.readPointer();
  if (items.filter((i) => i[TABLE.partitionKey] === pointerKey.PK && i[TABLE.sortKey] === pointerKey.SK).length !== 1) {
    fail('there is not exactly one collecting pointer');
  }

  // Invariant 1: one assignment per session, one session per (batch, number), each listed in its shard.
  const byPlace = new Map<string, string>();
  const byBatch = new Map<string, Array<{ id: string; number: number; scheduledAt: number }>>();
  for (const item of sessions) {
    const held = assignmentItems.get(item.session_id as string);
    const session = toStoredSession(item, held);
    const kind = kinds.get(session.session_id);
    const assignment = session.assignment;
    if (!assignment) continue;
    if (item.batch_id !== undefined) fail(`${session.session_id} carries an assignment on its session item, which the sharded layout never writes`);
    if (kind === 'payload' || kind === 'noEvents') fail(`${kind} session ${session.session_id} is in batch ${assignment.batchId}`);
    const member = membershipKey(assignment.batchId, shardOf(session.session_id, store.shards), assignment.sessionNumber);
    if (!stored.has(keyOf(member))) fail(`${session.session_id} is assigned ${JSON.stringify(toAssignment(held))} but not listed in its shard`);
    if (!Number.isInteger(assignment.sessionNumber) || assignment.sessionNumber < 1) fail(`${session.session_id} has number ${assignment.sessionNumber}`);
    if (typeof held?.scheduled_at !== 'number') fail(`${session.session_id} has no scheduled_at`);
    const place = `${assignment.batchId}/${assignment.sessionNumber}`;
    const other = byPlace.get(place);
    if (other) fail(`${other} and ${session.session_id} share ${place}`);
    byPlace.set(place, session.session_id);
    byBatch.set(assignment.batchId, [
      ...(byBatch.get(assignment.batchId) ?? []),
      { id: session.session_id, number: assignment.sessionNumber, scheduledAt: held!.scheduled_at as number },
    ]);

    // What clients were told about this session is what is stored.
    const answers = seen.schedules.get(session.session_id) ?? [];
    const wins = answers.filter((a) => a.body.status === 'scheduled').length;
    // Zero wins is fine only if one of its requests went unanswered (cut off at the end of the run).
    if (wins > 1 || (wins === 0 && !seen.unanswered.get(session.session_id))) {
      fail(`${session.session_id} is in ${place} but was answered "scheduled" ${wins} times`);
    }
    for (const a of answers) {
      if (a.status === 200 && `${a.body.batch_id}/${a.body.session_number}` !== place) {
        fail(`${session.session_id} was answered ${a.body.batch_id}/${a.body.session_number}, stored as ${place}`);
      }
    }
  }
  for (const [id, answers] of seen.schedules) {
    const kind = kinds.get(id);
    for (const a of answers) {
      if (a.status !== 200) continue;
      const expected = kind === 'payload' ? 'skipped:payload_search' : kind === 'noEvents' ? 'skipped:no_events' : undefined;
      const got = a.body.status === 'skipped' ? `skipped:${a.body.reason}` : undefined;
      if (expected !== got && !(expected === undefined && (a.body.status === 'scheduled' || a.body.status === 'already_scheduled'))) {
        fail(`${kind} session ${id} was answered ${JSON.stringify(a.body)}`);
      }
    }
  }

  // Invariant 4: one batch per release, the same answer for the same id, the answer is the record.
  const releaseOfBatch = new Map<string, string>();
  for (const release of releases) {
    const other = releaseOfBatch.get(release.batch_id);
    if (other) fail(`releases ${other} and ${release.release_id} both released batch ${release.batch_id}`);
    releaseOfBatch.set(release.batch_id, release.release_id);
    const answers = (seen.releases.get(release.release_id) ?? []).filter((a) => a.status === 200);
    for (const a of answers) {
      const { release_id, batch_id, released_at } = a.body;
      if (release_id !== release.release_id || batch_id !== release.batch_id || released_at !== release.released_at) {
        fail(`release ${release.release_id} answered ${JSON.stringify(a.body)}, stored ${JSON.stringify(release)}`);
      }
    }
  }
  for (const [releaseId, answers] of seen.releases) {
    const bodies = new Set(answers.filter((a) => a.status === 200).map((a) => JSON.stringify(a.body)));
    if (bodies.size > 1) fail(`release ${releaseId} gave ${bodies.size} different answers`);
    if (bodies.size === 1 && !releases.some((r) => r.release_id === releaseId)) fail(`release ${releaseId} answered 200 but has no record`);
  }

  // Nothing stuck: every batch before the collecting one has its release record (roll-forward).
  for (let seq = 1; pointer && seq < pointer.batchSeq; seq++) {
    if (!releaseOfBatch.has(batchIdOf(seq))) fail(`batch ${batchIdOf(seq)} was replaced but has no release record`);
  }
  if (pointer?.release && releaseOfBatch.get(pointer.batchId) !== pointer.release.releaseId) {
    fail(`the collecting pointer is released by ${pointer.release.releaseId} but its record is missing`);
  }

  // Invariant 3, in the store: a released batch holds no session assigned after the settle
  // window; and in the answers: no request that started after a release returned landed in
  // the released batch or an earlier one.
  for (const release of releases) {
    for (const s of byBatch.get(release.batch_id) ?? []) {
      if (s.scheduledAt > release.released_at + SETTLE_SECONDS) {
        fail(`${s.id} was assigned to ${release.batch_id} at ${s.scheduledAt}, past the release (${release.released_at}) + ${SETTLE_SECONDS} s`);
      }
    }
  }
  const scheduled = [...seen.schedules.entries()].flatMap(([id, answers]) =>
    answers.filter((a) => a.body.status === 'scheduled').map((a) => ({ id, ...a, seq: batchSeqOf(a.body.batch_id)!, number: a.body.session_number as number })),
  );
  const releaseReturns = [...seen.releases.values()]
    .map((answers) => answers.filter((a) => a.status === 200))
    .filter((answers) => answers.length > 0)
    .map((answers) => ({ end: Math.min(...answers.map((a) => a.end)), seq: batchSeqOf(answers[0]!.body.batch_id)! }))
    .sort((a, b) => a.end - b.end);
  const byStart = [...scheduled].sort((a, b) => a.start - b.start);
  const byEnd = [...scheduled].sort((a, b) => a.end - b.end);
  let releasedUpTo = 0;
  let r = 0;
  let e = 0;
  let latest = { seq: 0, number: 0 };
  for (const s of byStart) {
    while (r < releaseReturns.length && releaseReturns[r]!.end < s.start) releasedUpTo = Math.max(releasedUpTo, releaseReturns[r++]!.seq);
    if (s.seq <= releasedUpTo) fail(`${s.id} started after batch ${batchIdOf(releasedUpTo)} was released but landed in ${batchIdOf(s.seq)}`);
    // Invariant 2: a session scheduled after another one returned gets a later (batch, number).
    while (e < byEnd.length && byEnd[e]!.end < s.start) {
      const done = byEnd[e++]!;
      if (done.seq > latest.seq || (done.seq === latest.seq && done.number > latest.number)) latest = done;
    }
    if (s.seq < latest.seq || (s.seq === latest.seq && s.number <= latest.number)) {
      fail(`${s.id} (${batchIdOf(s.seq)}/${s.number}) started after a session got ${batchIdOf(latest.seq)}/${latest.number}`);
    }
  }

  // Invariant 2, paging: walking each batch by last_number sees exactly its stored sessions, rising.
  let walkedSessions = 0;
  for (let seq = 1; pointer && seq <= pointer.batchSeq; seq++) {
    const batchId = batchIdOf(seq);
    const walked: Array<{ session_id: string; session_number: number }> = [];
    let after = 0;
    for (;;) {
      const response = await fetch(`${baseUrl}/batch/sessions?batch_id=${batchId}&after_number=${after}&limit=100&events_limit=0`);
      const body = parse(await response.text());
      if (response.status !== 200) {
        fail(`walking ${batchId}: ${response.status} ${JSON.stringify(body)}`);
        break;
      }
      walked.push(...body.sessions);
      if (body.last_number === null) break;
      after = body.last_number;
    }
    walkedSessions += walked.length;
    const numbers = walked.map((s) => s.session_number);
    if (numbers.some((n, i) => i > 0 && n <= numbers[i - 1]!)) fail(`walk of ${batchId} is not rising`);
    const stored = (byBatch.get(batchId) ?? []).map((s) => s.id).sort();
    const got = walked.map((s) => s.session_id).sort();
    if (JSON.stringify(stored) !== JSON.stringify(got)) fail(`walk of ${batchId} saw ${got.length} sessions, the store has ${stored.length}`);
  }

  return {
    items: items.length,
    sessions: sessions.length,
    scheduledSessions: byPlace.size,
    batches: pointer?.batchSeq ?? 0,
    releaseRecords: releases.length,
    walkedSessions,
  };
}

function printReport(seen: Observations, seconds: number, totals: Record<string, number>, socketErrors: number): void {
  const rows = (['schedule', 'page', 'release'] as Endpoint[]).map((endpoint) => {
    const sorted = [...seen.latencies[endpoint]].sort((a, b) => a - b);
    const statuses = [...seen.statuses[endpoint].entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s}:${n}`).join(' ');
    return {
      endpoint,
      requests: sorted.length,
      'req/s': Math.round(sorted.length / seconds),
      'p50 ms': Number(percentile(sorted, 50).toFixed(1)),
      'p99 ms': Number(percentile(sorted, 99).toFixed(1)),
      'max ms': Number((sorted.at(-1) ?? NaN).toFixed(1)),
      statuses,
    };
  });
  const total = rows.reduce((sum, row) => sum + row.requests, 0);
  console.log(`\nsoak: ${seconds.toFixed(1)} s, ${CONFIG.connections} connections, ${total} requests (${Math.round(total / seconds)}/s)`);
  console.table(rows);
  console.log('store after the run:', totals);
  const fiveXx = rows.reduce((sum, row) => sum + [...seen.statuses[row.endpoint].entries()].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0), 0);
  console.log(`5xx answers: ${fiveXx}   socket errors/timeouts: ${socketErrors}   invariant violations: ${seen.violations.length}`);
  for (const violation of seen.violations.slice(0, 30)) console.log(`  ✗ ${violation}`);
  if (seen.violations.length > 30) console.log(`  … and ${seen.violations.length - 30} more`);
}

async function main(): Promise<number> {
  // Everything is bounded: a stuck run ends itself.
  setTimeout(() => {
    console.error('soak: exceeded its time bound');
    process.exit(2);
  }, (CONFIG.seconds + 180) * 1000).unref();

  // The store runs in a process of its own (the benchmark's store process): DynamoDB is remote from
  // Lambda too, and the server and autocannon get this process's core to themselves.
  const storeProcess = fork(join(__dirname, '../bench/store-process.ts'), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const { endpoint } = await new Promise<{ endpoint: string }>((resolve, reject) => {
    storeProcess.once('message', (message) => resolve(message as { endpoint: string }));
    storeProcess.once('exit', (code) => reject(new Error(`the store process exited (${code}) before answering`)));
  });
  Object.assign(process.env, {
    DYNAMODB_ENDPOINT: endpoint,
    TABLE_NAME: `soak-${randomUUID()}`,
    AWS_REGION: process.env.AWS_REGION ?? 'local',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'ERROR',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  // Powertools Metrics prints a notice to stderr for every request that adds no metric (every 4xx): noise here.
  const stderrWrite = process.stderr.write;
  process.stderr.write = ((chunk: unknown, ...rest: unknown[]) =>
    String(chunk).startsWith('No application metrics to publish')
      ? true
      : (stderrWrite as (...args: unknown[]) => boolean).call(process.stderr, chunk, ...rest)) as typeof process.stderr.write;

  await ensureTable(endpoint, process.env.TABLE_NAME!);
  const { createLocalServer } = await import('../../infra/local/server');
  const seen = new Observations();
  let clientAborts = 0;
  // Requests autocannon cuts off when its time is up arrive aborted: not a server fault.
  const logError = (message: string, error: unknown) => {
    if ((error as { code?: string })?.code === 'ECONNRESET') clientAborts++;
    else seen.violation(`server: ${message} ${String(error)}`);
  };
  const server = await createLocalServer({ port: 0, log: () => undefined, logError });
  const baseUrl = server.url;
  let checkServer: Awaited<ReturnType<typeof createLocalServer>> | undefined;
  try {
    const seedStarted = performance.now();
    const { ids, kinds } = await seedSessions();
    console.log(`soak: ${ids.length} sessions imported in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s; server ${baseUrl}, store ${endpoint}`);

    const recordSchedule = (answer: Answer, meta: Record<string, unknown>) => {
      const id = meta.sessionId as string;
      seen.schedules.set(id, [...(seen.schedules.get(id) ?? []), answer]);
      seen.unanswered.set(id, seen.unanswered.get(id)! - 1);
    };
    let nextNew = 0;
    const requested: string[] = [];
    const scheduleRequest = (sessionId: string) => {
      requested.push(sessionId);
      seen.unanswered.set(sessionId, (seen.unanswered.get(sessionId) ?? 0) + 1);
      return { method: 'POST' as const, path: '/session/use-for-improvement', body: JSON.stringify({ session_id: sessionId }), meta: { sessionId } };
    };
    const pick = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)]!;

    // Connection split: most traffic schedules, a third pages, a few replay releases.
    const share = (fraction: number) => Math.max(1, Math.round(CONFIG.connections * fraction));
    const started = performance.now();
    const releaser = startReleaser(baseUrl, seen);
    const runs = [
      drive(baseUrl, share(0.4), CONFIG.seconds, 'schedule', seen, () => scheduleRequest(ids[nextNew++ % ids.length]!), recordSchedule),
      drive(baseUrl, share(0.2), CONFIG.seconds, 'schedule', seen, () => scheduleRequest(requested.length ? pick(requested) : ids[0]!), recordSchedule),
      drive(
        baseUrl,
        share(0.3),
        CONFIG.seconds,
        'page',
        seen,
        () => {
          const known = seen.knownBatchSeq;
          const batchId = batchIdOf(Math.max(1, known - Math.floor(Math.random() * 3)));
          const limit = 1 + Math.floor(Math.random() * 100);
          const after = Math.floor(Math.random() * 50);
          return { method: 'GET', path: `/batch/sessions?batch_id=${batchId}&after_number=${after}&limit=${limit}&events_limit=10`, meta: { batchId, limit, known } };
        },
        (answer, meta) => {
          const { status, body } = answer;
          if (status === 404 && body.error?.code === 'batch_not_found' && (meta.known as number) < (batchSeqOf(meta.batchId as string) ?? 0)) return;
          if (status !== 200) return void seen.violation(`page ${meta.batchId} → ${status} ${JSON.stringify(body)}`);
          const numbers: number[] = body.sessions.map((s: any) => s.session_number);
          if (numbers.length > (meta.limit as number)) seen.violation(`page ${meta.batchId} returned ${numbers.length} > ${meta.limit}`);
          if (numbers.some((n, i) => i > 0 && n <= numbers[i - 1]!)) seen.violation(`page ${meta.batchId} numbers not rising`);
          if (body.sessions.some((s: any) => s.batch_id !== meta.batchId)) seen.violation(`page ${meta.batchId} returned another batch's session`);
          if (body.last_number !== (numbers.at(-1) ?? null)) seen.violation(`page ${meta.batchId} last_number ${body.last_number}`);
        },
      ),
      // Replays of ids that already released: must answer the original body (checked afterwards).
      // Before the first release there is nothing to replay: the probe id then releases like any other.
      drive(
        baseUrl,
        share(0.06),
        CONFIG.seconds,
        'release',
        seen,
        () => {
          const releaseId = seen.releasedIds.length ? pick(seen.releasedIds) : 'first-release-probe';
          return { method: 'POST', path: '/batch/release', body: JSON.stringify({ release_id: releaseId }), meta: { releaseId } };
        },
        (answer, meta) => rememberRelease(seen, meta.releaseId as string, answer),
      ),
    ];
    const results = await Promise.all(runs);
    await releaser.stop();
    const seconds = (performance.now() - started) / 1000;
    const socketErrors = results.reduce((sum, r) => sum + r.errors + r.timeouts, 0);

    // Closing waits for the requests still in flight, so the store is final before it is checked.
    await server.close();
    checkServer = await createLocalServer({ port: 0, log: () => undefined, logError });
    const totals = await checkInvariants(checkServer.url, seen, kinds);
    printReport(seen, seconds, { ...totals, clientAbortsAtEnd: clientAborts }, socketErrors);
    const fiveXx = Object.values(seen.statuses).some((m) => [...m.keys()].some((s) => s >= 500));
    return fiveXx || socketErrors > 0 || seen.violations.length > 0 ? 1 : 0;
  } finally {
    await server.close().catch(() => undefined);
    await checkServer?.close();
    storeProcess.disconnect();
    process.stderr.write = stderrWrite;
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
