import * as v from 'valibot';
import { Event, Session } from '../../shared/data-schemas';
import { BatchPageQuery, describeIssues, EVENT_FIELDS, ReleaseBatchBody, ScheduleSessionBody, SESSION_FIELDS } from '../../shared/schemas';

/** The sentence a client gets for this input, or the parsed value if it is valid. */
function parse<T extends v.GenericSchema>(schema: T, input: unknown): { ok: v.InferOutput<T> } | { error: string } {
  const result = v.safeParse(schema, input);
  return result.success ? { ok: result.output } : { error: describeIssues(result.issues) };
}

const session = {
  session_id: 's-1',
  search_query: 'red shoes',
  created_at: 1_700_000_000,
  search_results: [{ object_id: 'p1', rank: 1, meta: { price: 3 } }],
};

describe('ids', () => {
  test.each(['a', 'A-z_0.9:x@y', 'x'.repeat(128)])('accepts %p', (id) => {
    expect(parse(ScheduleSessionBody, { session_id: id })).toEqual({ ok: { session_id: id } });
  });

  test.each(['', 'x'.repeat(129), 'a b', 'a#b', 'a/b', 'é', 'a\n', 'SESSION#x'])('rejects %p with the rule', (id) => {
    expect(parse(ReleaseBatchBody, { release_id: id })).toEqual({
      error: 'release_id must be 1-128 characters of A-Z, a-z, 0-9, ".", "_", ":", "@" or "-"',
    });
  });
});

describe('describeIssues', () => {
  test('a missing field is "<field> is required"', () => {
    expect(parse(ScheduleSessionBody, {})).toEqual({ error: 'session_id is required' });
  });

  test('an unknown field is named, whatever its value', () => {
    expect(parse(ScheduleSessionBody, { session_id: 'a', extra: 1 })).toEqual({ error: 'unknown field "extra"' });
    expect(parse(ScheduleSessionBody, { session_id: 'a', extra: null })).toEqual({ error: 'unknown field "extra"' });
  });

  test('a wrong type names the field and the type', () => {
    expect(parse(ScheduleSessionBody, { session_id: 5 })).toEqual({ error: 'session_id must be a string' });
  });

  test('a body that is not an object says so', () => {
    expect(parse(ScheduleSessionBody, null)).toEqual({ error: 'must be an object' });
    expect(parse(ScheduleSessionBody, 'text')).toEqual({ error: 'must be an object' });
    expect(parse(ScheduleSessionBody, undefined)).toEqual({ error: 'value is required' });
  });

  test('nested fields are named by their dot path', () => {
    expect(parse(Session, { ...session, search_results: [{ rank: 1 }] })).toEqual({
      error: 'search_results.0.object_id is required',
    });
  });

  test('at most three problems, joined with "; "', () => {
    const result = parse(Session, { session_id: 'bad id', created_at: -1, search_results: 'x', a: 1, b: 2 });
    expect('error' in result && result.error.split('; ')).toEqual([
      'session_id must be 1-128 characters of A-Z, a-z, 0-9, ".", "_", ":", "@" or "-"',
      'search_query is required',
      'created_at must not be negative',
    ]);
  });
});

describe('Session and Event', () => {
  test('a minimal session gets is_irrelevant and is_payload_search false', () => {
    expect(parse(Session, session)).toEqual({ ok: { ...session, is_irrelevant: false, is_payload_search: false } });
  });

  test('search_query may be any JSON, including null, but must be present', () => {
    expect(parse(Session, { ...session, search_query: { q: ['x'] } })).toHaveProperty('ok');
    expect(parse(Session, { ...session, search_query: null })).toHaveProperty('ok');
  });

  test.each([
    [{ created_at: 1.5 }, 'created_at must be an integer (unix seconds)'],
    [{ created_at: -1 }, 'created_at must not be negative'],
    [{ created_at: 1e12 }, 'created_at must be unix seconds'],
    [{ created_at: '1700000000' }, 'created_at must be a number'],
    [{ search_results: [{ object_id: '' }] }, 'search_results.0.object_id must not be empty'],
    [{ search_results: [{ object_id: 'p', extra: 1 }] }, 'unknown field "extra"'],
    [{ is_irrelevant: 'yes' }, 'is_irrelevant must be a boolean'],
    [{ user_id: 7 }, 'user_id must be a string'],
  ])('rejects %p', (change, message) => {
    expect(parse(Session, { ...session, ...change })).toEqual({ error: message });
  });

  // Regression: v.record takes an array and turns ["x"] into {"0": "x"}, so an array
  // where the contract wants an object was silently rewritten instead of refused.
  test.each([
    [{ search_meta: [] }, 'search_meta must be an object'],
    [{ payload_filter: [1, 2] }, 'payload_filter must be an object'],
    [{ sort_by: ['price'] }, 'sort_by must be an object'],
    [{ search_results: [{ object_id: 'p', meta: ['x'] }] }, 'search_results.0.meta must be an object'],
  ])('refuses an array where an object belongs: %p', (change, message) => {
    expect(parse(Session, { ...session, ...change })).toEqual({ error: message });
  });

  test('an event needs every field but meta', () => {
    const event = { event_id: 'e1', session_id: 's-1', object_id: 'p1', event_type: 'click', created_at: 5 };
    expect(parse(Event, event)).toEqual({ ok: event });
    expect(parse(Event, { ...event, event_type: undefined })).toEqual({ error: 'event_type is required' });
    expect(parse(Event, { ...event, meta: ['x'] })).toEqual({ error: 'meta must be an object' });
  });
});

describe('BatchPageQuery', () => {
  test('fills the defaults and turns numbers into numbers', () => {
    expect(parse(BatchPageQuery, { batch_id: '000001' })).toEqual({
      ok: { batch_id: '000001', after_number: 0, limit: 10, events_limit: 100 },
    });
    expect(parse(BatchPageQuery, { batch_id: '000001', after_number: '7', limit: '100', events_limit: '0' })).toEqual({
      ok: { batch_id: '000001', after_number: 7, limit: 100, events_limit: 0 },
    });
  });

  test.each([
    ['limit', '0', 'limit must be a whole number from 1 to 100'],
    ['limit', '101', 'limit must be a whole number from 1 to 100'],
    ['limit', '1,2', 'limit must be a whole number from 1 to 100'],
    ['limit', '', 'limit must be a whole number from 1 to 100'],
    ['events_limit', '1001', 'events_limit must be a whole number from 0 to 1000'],
    ['after_number', '-1', 'after_number must be a whole number from 0 to 9007199254740991'],
    ['after_number', '1.5', 'after_number must be a whole number from 0 to 9007199254740991'],
    ['after_number', '1e3', 'after_number must be a whole number from 0 to 9007199254740991'],
    ['after_number', '0x10', 'after_number must be a whole number from 0 to 9007199254740991'],
    ['after_number', ' 1', 'after_number must be a whole number from 0 to 9007199254740991'],
    ['after_number', '9007199254740992', 'after_number must be a whole number from 0 to 9007199254740991'],
  ])('%s=%p is refused', (name, value, message) => {
    expect(parse(BatchPageQuery, { batch_id: '000001', [name]: value })).toEqual({ error: message });
  });

  test('batch_id is required and unknown parameters are refused', () => {
    expect(parse(BatchPageQuery, {})).toEqual({ error: 'batch_id is required' });
    expect(parse(BatchPageQuery, { batch_id: '000001', page: '2' })).toEqual({ error: 'unknown field "page"' });
  });
});

test('the field lists the data layer maps items with are the schemas’ fields, in their order', () => {
  expect(SESSION_FIELDS).toEqual(Object.keys(Session.entries));
  expect(EVENT_FIELDS).toEqual(Object.keys(Event.entries));
});
