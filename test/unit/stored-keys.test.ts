/**
 * Free JSON objects are stored with the keys the DocumentClient and dynalite
 * cannot carry ("__proto__", "constructor") escaped, and read back exactly as
 * written: the escape is a bijection on keys, checked on generated values.
 */
import fc from 'fast-check';
import stableStringify from 'safe-stable-stringify';
import { marshall } from '@aws-sdk/util-dynamodb';
import { eventItem, sessionItem, toEvent, toStoredSession } from '../../shared/data/items';
import type { Session } from '../../shared/schemas';
import { makeEvent, makeSession } from '../support/fixtures';

/** Keys a careless layer trips over, their "~" spellings, and anything else. */
const key = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', '~__proto__', '~~constructor', '~', '~x', 'name'),
  fc.string({ maxLength: 6 }),
);
/** JSON values whose objects are built with own properties only (as JSON.parse builds them). */
const { json } = fc.letrec((tie) => ({
  json: fc.oneof(
    { depthSize: 'small' },
    fc.string(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('json')),
    fc.uniqueArray(fc.tuple(key, tie('json')), { selector: ([k]) => k }).map((entries) => Object.fromEntries(entries)),
  ),
}));
const object = fc.uniqueArray(fc.tuple(key, json), { selector: ([k]) => k }).map((entries) => Object.fromEntries(entries));

/** Every own key at any depth. */
function keysIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(keysIn);
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => [k, ...keysIn(v)]);
}

test('a session round-trips through its stored item, whatever its keys, and the item holds none the SDK cannot marshal', () => {
  fc.assert(
    fc.property(json, object, object, (query, meta, resultMeta) => {
      const session: Session = makeSession({ session_id: 's-1', search_query: query, search_meta: meta, search_results: [{ object_id: 'p', meta: resultMeta }] });
      const written = JSON.stringify(session);
      const item = sessionItem(session);
      expect(JSON.stringify(session)).toBe(written); // the input is left as it was
      expect(keysIn(item)).not.toContain('__proto__');
      expect(keysIn(item)).not.toContain('constructor');
      expect(() => marshall(item, { removeUndefinedValues: true })).not.toThrow();
      // Key order aside (DynamoDB keeps none in a map), the same JSON.
      expect(stableStringify(toStoredSession(structuredClone(item)))).toBe(stableStringify(session));
    }),
  );
});

test('an event round-trips the same way', () => {
  fc.assert(
    fc.property(object, (meta) => {
      const event = makeEvent('s-1', { meta });
      const item = eventItem(event);
      expect(keysIn(item)).not.toContain('__proto__');
      expect(stableStringify(toEvent(structuredClone(item)))).toBe(stableStringify(event));
    }),
  );
});

test('the escape, spelled out', () => {
  const meta = JSON.parse('{"__proto__":1,"constructor":2,"~constructor":3,"~~__proto__":4,"prototype":5,"~":6,"a~constructor":7}');
  expect(sessionItem(makeSession({ search_meta: meta })).search_meta).toEqual({
    '~__proto__': 1,
    '~constructor': 2,
    '~~constructor': 3,
    '~~~__proto__': 4,
    prototype: 5,
    '~': 6,
    'a~constructor': 7,
  });
});
