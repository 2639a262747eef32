/**
 * A small demo clickstream that `npm start` writes into an empty store, so
 * the README's curl examples work at once. The ids are stable and cover
 * every answer of POST /session/use-for-improvement; README and tests use
 * these constants.
 */
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SessionWriter } from '../../shared/data/session-writer';
import type { Event, Session } from '../../shared/schemas';

export const DEMO_SESSION_IDS = {
  /** Sessions with events: each is scheduled on first request. */
  eligible: ['demo-red-shoes', 'demo-running-shoes', 'demo-rain-jacket', 'demo-wool-socks'],
  /** is_payload_search: always skipped with reason payload_search, even though it has events. */
  payloadSearch: 'demo-payload-search',
  /** No events and not irrelevant: skipped with reason no_events. */
  noEvents: 'demo-no-events',
  /** Marked irrelevant and without events: still scheduled (a negative example). */
  irrelevant: 'demo-irrelevant',
} as const;

/** 2024-06-10T06:13:20Z: fixed, so the demo answers never change. */
const T0 = 1_718_000_000;

interface DemoSession {
  session: Session;
  /** [event_type, object_id, seconds after the search] */
  events: Array<[string, string, number]>;
}

function demo(
  sessionId: string,
  query: Session['search_query'],
  skus: string[],
  offset: number,
  events: DemoSession['events'],
  extra: Partial<Session> = {},
): DemoSession {
  return {
    session: {
      session_id: sessionId,
      search_query: query,
      created_at: T0 + offset,
      search_results: skus.map((object_id, i) => ({ object_id, rank: i + 1 })),
      search_meta: { locale: 'en-US', device: 'mobile' },
      user_id: `demo-user-${offset / 60 + 1}`,
      is_irrelevant: false,
      is_payload_search: false,
      ...extra,
    },
    events,
  };
}

const [redShoes, runningShoes, rainJacket, woolSocks] = DEMO_SESSION_IDS.eligible;

export const DEMO_SESSIONS: readonly DemoSession[] = [
  demo(redShoes, 'red shoes', ['sku-1001', 'sku-1002', 'sku-1003'], 0, [
    ['view', 'sku-1001', 4],
    ['click', 'sku-1002', 9],
    ['purchase', 'sku-1002', 42],
  ]),
  demo(runningShoes, 'running shoes', ['sku-2001', 'sku-2002'], 60, [
    ['view', 'sku-2001', 3],
    ['click', 'sku-2001', 7],
  ]),
  demo(rainJacket, 'rain jacket', ['sku-3001', 'sku-3002', 'sku-3003'], 120, [
    ['click', 'sku-3003', 5],
    ['add_to_cart', 'sku-3003', 20],
  ]),
  demo(woolSocks, 'wool socks', ['sku-4001'], 180, [['click', 'sku-4001', 2]]),
  demo(
    DEMO_SESSION_IDS.payloadSearch,
    { filter: { brand: 'acme' } },
    ['sku-5001', 'sku-5002'],
    240,
    [['click', 'sku-5001', 6]],
    { is_payload_search: true, payload_filter: { brand: 'acme' } },
  ),
  demo(DEMO_SESSION_IDS.noEvents, 'blue hat', ['sku-6001', 'sku-6002'], 300, []),
  demo(DEMO_SESSION_IDS.irrelevant, 'asdfgh', ['sku-7001'], 360, [], { is_irrelevant: true }),
];

const eventsOf = ({ session, events }: DemoSession): Event[] =>
  events.map(([event_type, object_id, after], i) => ({
    event_id: `${session.session_id}-e${i + 1}`,
    session_id: session.session_id,
    object_id,
    event_type,
    created_at: session.created_at + after,
  }));

/** Writes the demo sessions (events first, as the import does). Safe to run twice. */
export async function seedDemoData(writer: SessionWriter): Promise<void> {
  await writer.putEvents(DEMO_SESSIONS.flatMap(eventsOf));
  await Promise.all(DEMO_SESSIONS.map(({ session }) => writer.upsertSession(session)));
}

/** True when the table holds no item at all (a one-item Scan: no key knowledge needed). */
export async function isTableEmpty(db: DynamoDBDocumentClient, tableName: string): Promise<boolean> {
  const { Count } = await db.send(new ScanCommand({ TableName: tableName, Limit: 1, Select: 'COUNT' }));
  return !Count;
}

/** Seeds the demo data unless the table already holds something (a restart never re-seeds). */
export async function seedDemoDataIfEmpty(db: DynamoDBDocumentClient, tableName: string): Promise<boolean> {
  if (!(await isTableEmpty(db, tableName))) return false;
  await seedDemoData(new SessionWriter(db, tableName));
  return true;
}
