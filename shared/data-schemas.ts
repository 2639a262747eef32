/**
 * Schemas of the data the service stores: sessions and their events, as the
 * import tools validate them. Apart from the request schemas (schemas.ts) so
 * that no handler bundle carries them: handlers never validate a session.
 * schemas.ts lists their fields for the data layer; a test keeps the two equal.
 */
import * as v from 'valibot';
import { Id } from './schemas';

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
