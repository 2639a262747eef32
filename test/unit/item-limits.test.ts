import { itemBytes, itemProblem, MAX_ITEM_BYTES, valueProblem } from '../../shared/data/item-limits';

/** `levels` single-key maps around a scalar: levels = 1 is {n: "leaf"}. */
const nested = (levels: number): unknown => (levels === 0 ? 'leaf' : { n: nested(levels - 1) });

describe('itemBytes', () => {
  test('counts names and string values in UTF-8 bytes', () => {
    expect(itemBytes({ a: 'xyz' })).toBe(4);
    expect(itemBytes({ é: 'é€' })).toBe(2 + 5);
  });

  test('counts booleans and null as 1 byte and numbers by their digits', () => {
    expect(itemBytes({ t: true, n: null })).toBe(1 + 1 + 1 + 1);
    expect(itemBytes({ n: 12 })).toBe(1 + 2);
    expect(itemBytes({ n: 123456 })).toBe(1 + 4);
  });

  test('adds 3 bytes per list or map and 1 per element', () => {
    expect(itemBytes({ l: ['ab', 'c'] })).toBe(1 + 3 + (1 + 2) + (1 + 1));
    expect(itemBytes({ m: { k: 'v' } })).toBe(1 + 3 + (1 + 1 + 1));
    expect(itemBytes({ m: {} })).toBe(1 + 3);
  });
});

describe('valueProblem', () => {
  test.each([0, 1, -1, 0.5, 1e-130, -1e-130, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER])('accepts %p', (n) => {
    expect(valueProblem({ a: [n] })).toBeUndefined();
  });

  // Regression: the old bound 9.9999999999999999e125 is 1e126 as a double, and anything past
  // Number.MAX_SAFE_INTEGER is refused by the DocumentClient's marshaller anyway.
  test.each([Number.MAX_SAFE_INTEGER + 1, 1e20, -1e20, 1e126, 1e300, Infinity, 1e-131, 5e-324])('refuses %p, naming where it is', (n) => {
    expect(valueProblem({ meta: { deep: [1, n] } })).toMatch(/^meta\.deep\.1 is a number that cannot be stored/);
  });

  // Real DynamoDB accepts a scalar under 31 maps and refuses it under 32 (the top-level attribute is level 1).
  test('accepts 31 levels of maps around a value and refuses 32', () => {
    expect(valueProblem({ a: nested(31) })).toBeUndefined();
    expect(valueProblem({ a: nested(32) })).toMatch(/is nested more than 32 levels deep$/);
  });

  test('lists count as levels like maps', () => {
    let value: unknown = 1;
    for (let i = 0; i < 32; i++) value = [value];
    expect(valueProblem({ a: value })).toMatch(/nested more than 32/);
  });
});

describe('itemProblem', () => {
  test('leaves room under DynamoDB’s 400 KB for the attributes scheduling adds', () => {
    expect(MAX_ITEM_BYTES).toBeLessThan(400 * 1024);
    expect(MAX_ITEM_BYTES).toBeGreaterThan(400 * 1024 - 200);
  });

  test('accepts an item of exactly MAX_ITEM_BYTES and refuses one byte more', () => {
    const item = (bytes: number) => ({ s: 'x'.repeat(bytes - 1) });
    expect(itemBytes(item(MAX_ITEM_BYTES))).toBe(MAX_ITEM_BYTES);
    expect(itemProblem(item(MAX_ITEM_BYTES))).toBeUndefined();
    expect(itemProblem(item(MAX_ITEM_BYTES + 1))).toBe(
      `item is ${MAX_ITEM_BYTES + 1} bytes, over the ${MAX_ITEM_BYTES}-byte limit (DynamoDB's 400 KB less room for the batch assignment)`,
    );
  });

  test('reports a bad value before the size', () => {
    expect(itemProblem({ s: 'x'.repeat(500_000), n: 1e20 })).toMatch(/^n is a number/);
  });
});
