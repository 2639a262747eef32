/**
 * The JSON text rules shared by HTTP bodies and the import: a leading BOM is
 * ignored, and an object naming a key twice is refused, keys compared as
 * decoded. Checked on a table of cases and on generated objects whose
 * repeated keys are known by construction.
 */
import fc from 'fast-check';
import { parseJsonText } from '../../shared/json-text';

test.each([
  ['{"a":1,"a":2}', 'a'],
  ['{"a":1,"b":{"a":2},"a":3}', 'a'],
  ['{"b":{"c":1,"c":2}}', 'c'],
  ['[{"a":1},{"a":2},{"x":[{"y":1,"y":1}]}]', 'y'],
  ['{"a":1,"\\u0061":2}', 'a'],
  ['{"\\"":1,"\\u0022":2}', '"'],
  ['{"a\\\\":1,"a\\u005c":2}', 'a\\'],
  ['{"":1,"":2}', ''],
  [' { "a" : 1 , "a" : 2 } ', 'a'],
  ['{"__proto__":1,"__proto__":2}', '__proto__'],
])('%s names %p twice', (text, key) => {
  expect(parseJsonText(text)).toEqual({ repeatedKey: key });
});

test.each([
  ['{"a":1,"b":{"a":2}}'],
  ['[{"a":1},{"a":2}]'],
  ['{"a":"a","b":"a"}'],
  ['{"a":["a","a"],"b":{"a":"\\"a\\":"}}'],
  ['{"a\\\\":1,"a":2}'],
  ['{"a":{},"b":[],"c":[{}, {"a":1}]}'],
  ['"a"'],
  ['[1,"x",{"k":[{"k":{"k":1}}]}]'],
])('%s repeats no key', (text) => {
  expect(parseJsonText(text)).toEqual({ value: JSON.parse(text) });
});

test('a leading byte-order mark is ignored; one anywhere else is not JSON', () => {
  expect(parseJsonText('\uFEFF{"a":1}')).toEqual({ value: { a: 1 } });
  expect(parseJsonText('{"a":1}\uFEFF')).toEqual({ syntaxError: expect.any(String) });
  expect(parseJsonText('\uFEFF\uFEFF{"a":1}')).toEqual({ syntaxError: expect.any(String) });
});

test('text that is not JSON is a syntax error, not a key check', () => {
  for (const text of ['', '{"a":1', '{"a":1,"a"', '{"a', 'nul']) expect(parseJsonText(text)).toEqual({ syntaxError: expect.any(String) });
});

/** A key written in any of JSON's spellings: plain, or with some characters as \u escapes. */
const spelled = (key: string, escapes: boolean[]) =>
  `"${[...key].map((c, i) => (escapes[i % escapes.length] ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}` : JSON.stringify(c).slice(1, -1))).join('')}"`;

test('generated objects: a repeated key is found exactly when the object has one, however it is spelled', () => {
  const keys = fc.array(fc.tuple(fc.string({ maxLength: 4, unit: fc.constantFrom('a', 'b', '"', '\\', 'é', '\u2028') }), fc.array(fc.boolean(), { minLength: 1 })), { maxLength: 6 });
  const value = fc.jsonValue({ maxDepth: 2 });
  fc.assert(
    fc.property(keys, fc.array(value, { minLength: 6, maxLength: 6 }), fc.boolean(), (entries, values, nested) => {
      const body = `{${entries.map(([key, escapes], i) => `${spelled(key, escapes)}:${JSON.stringify(values[i])}`).join(',')}}`;
      const text = nested ? `[1,{"outer":${body}},"x"]` : body;
      const names = entries.map(([key]) => key);
      const repeated = names.find((name, i) => names.indexOf(name) !== i);
      expect(parseJsonText(text)).toEqual(repeated === undefined ? { value: JSON.parse(text) } : { repeatedKey: repeated });
    }),
  );
});
