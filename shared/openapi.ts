/**
 * The HTTP contract (README.md, "API") as an OpenAPI 3.1 document. Request bodies,
 * query parameters and the session and event shapes are generated from the
 * valibot schemas the handlers validate with, and the operations from the
 * route table, so the document cannot drift from either.
 *
 * Local server and tests only: functions/* must never import this module,
 * since the converter and these response schemas have no place in a Lambda bundle.
 */
import { toJsonSchemaDefs, type ConversionConfig, type JsonSchema } from '@valibot/to-json-schema';
import * as v from 'valibot';
import { version } from '../package.json';
import { RETRY_AFTER_SECONDS } from './http/errors';
import { ROUTES, type Route } from './routes';
import { Event, JsonObject, SearchResult, Session, UnixSeconds } from './data-schemas';
import { BatchPageQuery, Id, PAGE_LIMITS, ReleaseBatchBody, ScheduleSessionBody } from './schemas';

// Response shapes: the handlers build these instead of parsing them, so they only exist here.

const SessionNumber = v.pipe(
  v.number(),
  v.integer(),
  v.minValue(1),
  v.maxValue(Number.MAX_SAFE_INTEGER),
  v.description(
    'Unique within its batch and rising with the time the session was scheduled (to the millisecond; the low bits are its shard and random bits), so not consecutive. Compare and pass back as is; it stays below 2^53.',
  ),
);

const ScheduleResult = v.pipe(
  v.variant('status', [
    v.strictObject({ session_id: Id, status: v.literal('scheduled'), batch_id: Id, session_number: SessionNumber }),
    v.strictObject({ session_id: Id, status: v.literal('already_scheduled'), batch_id: Id, session_number: SessionNumber }),
    v.strictObject({ session_id: Id, status: v.literal('skipped'), reason: v.picklist(['payload_search', 'no_events']) }),
  ]),
  v.description('What happened to the session: scheduled now, scheduled before (in any batch), or skipped and why.'),
);

/** A session as a page returns it: exactly its own fields plus where it sits and its events. */
const BatchSession = v.strictObject({
  ...Session.entries,
  batch_id: Id,
  session_number: SessionNumber,
  events: v.pipe(v.array(Event), v.description('Oldest first, at most events_limit.')),
  events_truncated: v.pipe(
    v.optional(v.literal(true)),
    v.description('Present only when this session alone would overflow a 5 MB page: its events were cut to fit.'),
  ),
});

const BatchPage = v.strictObject({
  batch_id: Id,
  state: v.pipe(
    v.picklist(['collecting', 'released']),
    v.description(
      'collecting: sessions may still join the batch, and a later page may list sessions numbered below ones already returned. released: no schedule that starts now lands in it; one in flight at the release may until the announcement (BatchReleased), after which pages never change.',
    ),
  ),
  last_number: v.pipe(
    v.nullable(SessionNumber),
    v.description('Number of the last session returned (pass it back as after_number), or null when none is.'),
  ),
  sessions: v.pipe(v.array(BatchSession), v.description('Ascending by session_number.')),
});

const ReleaseResult = v.strictObject({
  release_id: Id,
  batch_id: Id,
  released_at: UnixSeconds,
  last_session_number: v.pipe(
    v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
    v.description(
      'Only for a batch numbered before the sharded layout (a counter): the highest number it handed out. Sharded session numbers come from the clock, so no such bound exists for them.',
    ),
  ),
});

const ErrorBody = v.strictObject({
  error: v.strictObject({
    code: v.pipe(v.string(), v.regex(/^[a-z]+(_[a-z]+)*$/)),
    message: v.pipe(v.string(), v.minLength(1)),
  }),
});

/** Everything under components.schemas; response and request schemas point here with $ref. */
const COMPONENTS = {
  Id,
  UnixSeconds,
  SearchResult,
  Session,
  Event,
  ScheduleSessionBody,
  ReleaseBatchBody,
  ScheduleResult,
  BatchSession,
  BatchPage,
  ReleaseResult,
  Error: ErrorBody,
};

const CONVERSION: ConversionConfig = {
  // OpenAPI 3.1 schemas are JSON Schema 2020-12.
  target: 'draft-2020-12',
  // A pipe is described by its last schema: the record after the JS-only "not an array"
  // check (v.custom), and the integer a query-string digit run becomes.
  typeMode: 'output',
  overrideRef: ({ referenceId }) => `#/components/schemas/${referenceId}`,
  overrideAction: ({ valibotAction, jsonSchema }) => {
    // JSON has no NaN or Infinity: every JSON number is finite already.
    if (valibotAction.type === 'finite') return jsonSchema;
    // The query integers (digits only, then Number): a parameter's schema describes its value.
    if (valibotAction.type === 'transform' && (valibotAction as { operation?: unknown }).operation === Number) {
      return { type: 'integer' };
    }
    return undefined;
  },
  overrideSchema: ({ valibotSchema, jsonSchema }) => {
    // A JS-only check (v.custom) that keeps the object as written: any JSON object.
    if (valibotSchema === JsonObject) return { type: 'object' };
    // Their fallback is the raw query string ("10"): document the number it becomes.
    if (valibotSchema.type === 'optional' && jsonSchema.type === 'integer' && typeof jsonSchema.default === 'string') {
      return { ...jsonSchema, default: Number(jsonSchema.default) };
    }
    return undefined;
  },
};

/** The one rule for the query integers (shared/schemas.ts). */
const DIGITS_RULE = 'Plain decimal digits; leading zeros are allowed, any number of them (the value is that of the digits: 010 is 10), and the range is checked on the value.';

const PARAMETER_DESCRIPTIONS: Record<keyof typeof BatchPageQuery.entries, string> = {
  batch_id: 'The batch to read.',
  after_number: `Return sessions numbered above this; pass the previous page’s last_number to continue. ${DIGITS_RULE}`,
  limit: `At most this many sessions (${PAGE_LIMITS.limit.min}–${PAGE_LIMITS.limit.max}). ${DIGITS_RULE}`,
  events_limit: `At most this many events per session, oldest first (${PAGE_LIMITS.eventsLimit.min}–${PAGE_LIMITS.eventsLimit.max}). ${DIGITS_RULE}`,
};

/** The body rules of shared/http/json-body.ts, for every operation that takes a body. */
const BODY_RULES =
  'A JSON object. The content type is application/json or a structured `+json` type (RFC 6839), matched case-insensitively with optional ' +
  'whitespace around `;`; its charset, if given, must be utf-8 (any case), and content-encoding, if given, identity: anything else is 415. ' +
  'A leading UTF-8 byte-order mark is ignored. An object that names a key twice is 400 invalid_request naming the key. ' +
  'The operation takes no query string: any query parameter is 400, as an unknown parameter is on GET.';

interface OperationText {
  summary: string;
  /** What a caller should know beyond the summary. */
  description?: string;
  /** The components.schemas entry of the JSON body, for operations that take one. */
  requestBody?: keyof typeof COMPONENTS;
  ok: { schema: keyof typeof COMPONENTS; description: string };
  /** What the operation's 404 means, and its code. */
  notFound: { code: string; description: string };
}

const OPERATIONS: Record<Route['name'], OperationText> = {
  ScheduleSession: {
    summary: 'Schedule a session for improvement: put it in the collecting batch, exactly once.',
    requestBody: 'ScheduleSessionBody',
    ok: { schema: 'ScheduleResult', description: 'Scheduled, already scheduled, or skipped (payload search, or no events and not irrelevant).' },
    notFound: { code: 'session_not_found', description: 'The session is unknown.' },
  },
  GetBatchPage: {
    summary: 'One page of a batch’s sessions with their events, ascending by session number.',
    ok: { schema: 'BatchPage', description: 'A page (at most 5 MB of JSON); a known batch past its end gives `sessions: []`.' },
    notFound: { code: 'batch_not_found', description: 'The batch is unknown.' },
  },
  ReleaseBatch: {
    summary: 'Release the collecting batch; the same release_id always answers the same.',
    description:
      'Deployed, a release made here is announced like a scheduled one: the table stream starts the release workflow for it, which waits out the settle window and then publishes BatchReleased. Read the batch once it is announced: until then a schedule request in flight at the release may still land in it.',
    requestBody: 'ReleaseBatchBody',
    ok: { schema: 'ReleaseResult', description: 'The release: now, or the original answer for a release_id seen before.' },
    notFound: { code: 'no_collecting_batch', description: 'No batch is collecting: nothing was scheduled since the last release.' },
  },
};

const schemaRef = (name: keyof typeof COMPONENTS) => ({ $ref: `#/components/schemas/${name}` });

const json = (schema: object) => ({ content: { 'application/json': { schema } } });

/** The Error component, narrowed to the codes this response can carry so a wrong code fails validation. */
const errorResponse = (description: string, codes: string[], headers?: object) => ({
  description,
  ...(headers && { headers }),
  ...json({
    ...schemaRef('Error'),
    type: 'object',
    properties: { error: { type: 'object', properties: { code: { enum: codes } } } },
  }),
});

function operation(route: Route, text: OperationText, queryParameters: object[]) {
  const takesBody = text.requestBody !== undefined;
  return {
    operationId: route.name.charAt(0).toLowerCase() + route.name.slice(1),
    summary: text.summary,
    ...(text.description && { description: text.description }),
    ...(route.method === 'GET' && { parameters: queryParameters }),
    ...(text.requestBody && { requestBody: { required: true, description: BODY_RULES, ...json(schemaRef(text.requestBody)) } }),
    responses: {
      200: { description: text.ok.description, ...json(schemaRef(text.ok.schema)) },
      400: errorResponse(
        `Malformed request: bad JSON, a key named twice, wrong types, missing or unknown fields or query parameters${takesBody ? ' (this operation takes none)' : ''}, out-of-range numbers, bad ids. The message names the field as sent. Nothing changed.`,
        ['invalid_request'],
      ),
      404: errorResponse(text.notFound.description, [text.notFound.code]),
      // Any request with a body over the size limit, a GET included, is refused before the handler.
      413: errorResponse('The request body is over the size limit.', ['payload_too_large']),
      ...(takesBody && {
        415: errorResponse('The body is not JSON by content type, names a charset other than UTF-8, or has a content-encoding other than identity.', [
          'unsupported_media_type',
        ]),
      }),
      500: errorResponse('A bug on the service’s side; never caused by input.', ['internal_error']),
      503: errorResponse('Throttled or unreachable store: retry after Retry-After seconds.', ['service_unavailable'], {
        'Retry-After': {
          description: `Seconds to wait before retrying (${RETRY_AFTER_SECONDS} today).`,
          required: true,
          schema: { type: 'integer', minimum: 0 },
        },
      }),
    },
  };
}

export function buildOpenApiDocument(options: { serverUrl?: string } = {}) {
  const { BatchPageQuery: pageQuery, ...schemas } = toJsonSchemaDefs({ ...COMPONENTS, BatchPageQuery }, CONVERSION);
  const properties = pageQuery.properties as Record<string, JsonSchema>;
  const queryParameters = Object.entries(properties).map(([name, schema]) => ({
    name,
    in: 'query',
    required: pageQuery.required?.includes(name) ?? false,
    description: PARAMETER_DESCRIPTIONS[name as keyof typeof PARAMETER_DESCRIPTIONS],
    schema,
  }));

  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: operation(route, OPERATIONS[route.name], queryParameters) };
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'Session improvement service',
      version,
      description:
        'Turns recorded search sessions into numbered batches of training material. Errors are `{"error": {"code", "message"}}`; unknown fields and query parameters are rejected with 400. ' +
        'Request bodies are JSON in UTF-8 (see each request body for the rules). Free objects (meta, search_meta, payload_filter, sort_by) and search_query are stored and returned ' +
        'exactly as written, keys such as constructor, prototype and __proto__ included. A page serves a session only under the batch and number its own item holds.',
    },
    ...(options.serverUrl && { servers: [{ url: options.serverUrl }] }),
    paths,
    components: { schemas },
  };
}

export type OpenApiDocument = ReturnType<typeof buildOpenApiDocument>;
