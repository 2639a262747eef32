/**
 * Wire schemas of the API's requests, in valibot: a few KB in a handler
 * bundle (the bundle-size budget in `npm test` keeps handlers within 1.2 × a
 * bare DocumentClient bundle). Each schema is strict: an unknown field is a
 * malformed request, not something to ignore. The stored data's schemas are
 * in data-schemas.ts.
 */
import * as v from 'valibot';
import type { Event, Session } from './data-schemas';

const ID_PATTERN = /^[A-Za-z0-9._:@-]{1,128}$/;
const ID_RULE = 'must be 1-128 characters of A-Z, a-z, 0-9, ".", "_", ":", "@" or "-"';

/** session_id, release_id, batch_id and event_id all follow the same rule. */
export const Id = v.pipe(v.string('must be a string'), v.regex(ID_PATTERN, ID_RULE));

export type { Event, Session } from './data-schemas';

/**
 * The fields of a session and of an event, in the order of their schemas
 * (data-schemas.ts), written out so that the data layer can map items
 * without bundling the schemas themselves.
 */
export const SESSION_FIELDS = [
  'session_id',
  'search_query',
  'created_at',
  'search_results',
  'search_meta',
  'payload_filter',
  'sort_by',
  'user_id',
  'is_irrelevant',
  'is_payload_search',
] as const satisfies readonly (keyof Session)[];

export const EVENT_FIELDS = ['event_id', 'session_id', 'object_id', 'event_type', 'meta', 'created_at'] as const satisfies readonly (keyof Event)[];

export const ScheduleSessionBody = v.strictObject({ session_id: Id }, 'must be an object');

export const ReleaseBatchBody = v.strictObject({ release_id: Id }, 'must be an object');

/**
 * A query-string integer: plain decimal digits only, so "-1", "1.5", "1e3",
 * "0x10" and the comma-joined "1,2" that API Gateway makes of a repeated
 * parameter are all rejected rather than coerced. Leading zeros are allowed,
 * any number of them: the value is that of the digits ("010" is 10), and the
 * range is checked on the value (Number rounds a run of digits past 2^53 up,
 * never down into the range).
 */
const QueryInteger = (min: number, max: number, fallback: number) =>
  v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d+$/, `must be a whole number from ${min} to ${max}`),
      v.transform(Number),
      v.minValue(min, `must be a whole number from ${min} to ${max}`),
      v.maxValue(max, `must be a whole number from ${min} to ${max}`),
    ),
    String(fallback),
  );

export const PAGE_LIMITS = {
  limit: { min: 1, max: 100, fallback: 10 },
  eventsLimit: { min: 0, max: 1000, fallback: 100 },
} as const;

export const BatchPageQuery = v.strictObject(
  {
    batch_id: Id,
    after_number: QueryInteger(0, Number.MAX_SAFE_INTEGER, 0),
    limit: QueryInteger(PAGE_LIMITS.limit.min, PAGE_LIMITS.limit.max, PAGE_LIMITS.limit.fallback),
    events_limit: QueryInteger(
      PAGE_LIMITS.eventsLimit.min,
      PAGE_LIMITS.eventsLimit.max,
      PAGE_LIMITS.eventsLimit.fallback,
    ),
  },
  'must be a query string',
);

/** Turns valibot's issues into one sentence a client can act on. */
export function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string {
  return issues
    .slice(0, 3)
    .map((issue) => {
      const path = v.getDotPath(issue);
      if (issue.type === 'strict_object' && issue.path && issue.input !== undefined) {
        return `unknown field "${String(issue.path?.at(-1)?.key ?? '')}"`;
      }
      if (issue.input === undefined && issue.received === 'undefined') return `${path ?? 'value'} is required`;
      return path ? `${path} ${issue.message}` : issue.message;
    })
    .join('; ');
}
