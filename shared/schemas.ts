/**
 * Wire schemas, in valibot: a few KB in a handler bundle (the bundle-size
 * budget in `npm test` keeps handlers within 1.2 × a bare DocumentClient
 * bundle). Each schema is strict: an unknown field is a malformed request,
 * not something to ignore.
 */
import * as v from 'valibot';

const ID_PATTERN = /^[A-Za-z0-9._:@-]{1,128}$/;
const ID_RULE = 'must be 1-128 characters of A-Z, a-z, 0-9, ".", "_", ":", "@" or "-"';

/** session_id, release_id, batch_id and event_id all follow the same rule. */
export const Id = v.pipe(v.string('must be a string'), v.regex(ID_PATTERN, ID_RULE));

/** Unix seconds; 12 digits keep the event sort key fixed-width. */
export const UnixSeconds = v.pipe(
  v.number('must be a number'),
  v.integer('must be an integer (unix seconds)'),
  v.minValue(0, 'must not be negative'),
  v.maxValue(999_999_999_999, 'must be unix seconds'),
);

/** valibot's object and record schemas also take an array (v.record turns ["x"] into {"0": "x"}): refuse arrays first. */
export const NotArray = v.custom<unknown>((input) => !Array.isArray(input), 'must be an object');

/**
 * A free JSON object (meta, search_meta, …), kept exactly as written: v.record
 * would drop keys named "__proto__", "constructor" or "prototype", which are
 * ordinary keys in JSON data.
 */
export const JsonObject = v.custom<Record<string, unknown>>(
  (input) => typeof input === 'object' && input !== null && !Array.isArray(input),
  'must be an object',
);

export const SearchResult = v.strictObject(
  {
    object_id: v.pipe(v.string('must be a string'), v.minLength(1, 'must not be empty')),
    rank: v.optional(v.pipe(v.number('must be a number'), v.finite())),
    meta: v.optional(JsonObject),
  },
  'must be an object with object_id and optional rank and meta',
);

export const Session = v.strictObject(
  {
    session_id: Id,
    search_query: v.unknown(),
    created_at: UnixSeconds,
    search_results: v.array(SearchResult, 'must be an array'),
    search_meta: v.optional(JsonObject),
    payload_filter: v.optional(JsonObject),
    sort_by: v.optional(JsonObject),
    user_id: v.optional(v.string('must be a string')),
    is_irrelevant: v.optional(v.boolean('must be a boolean'), false),
    is_payload_search: v.optional(v.boolean('must be a boolean'), false),
  },
  'must be a session object',
);
export type Session = v.InferOutput<typeof Session>;

export const SESSION_FIELDS = Object.keys(Session.entries) as readonly (keyof Session)[];

export const Event = v.strictObject(
  {
    event_id: Id,
    session_id: Id,
    object_id: v.pipe(v.string('must be a string'), v.minLength(1, 'must not be empty')),
    event_type: v.pipe(v.string('must be a string'), v.minLength(1, 'must not be empty')),
    meta: v.optional(JsonObject),
    created_at: UnixSeconds,
  },
  'must be an event object',
);
export type Event = v.InferOutput<typeof Event>;

export const EVENT_FIELDS = Object.keys(Event.entries) as readonly (keyof Event)[];

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
