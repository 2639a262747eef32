/**
 * Item sizes as DynamoDB counts them for capacity, computed from the wire form.
 * Every rule here is from the DynamoDB developer guide, "DynamoDB item sizes and formats".
 */
import type { AttributeValue, Item } from './wire';

const utf8 = (text: string): number => Buffer.byteLength(text, 'utf8');
const rawBytes = (base64: string): number => Buffer.from(base64, 'base64').length;
const sum = <T>(values: readonly T[], size: (value: T) => number): number =>
  values.reduce((total, value) => total + size(value), 0);

/** The sum of the item's attribute names (UTF-8 bytes) and values; an absent item is 0. */
export const itemSize = (item: Item | undefined): number =>
  item ? sum(Object.entries(item), ([name, value]) => utf8(name) + valueSize(value)) : 0;

export function valueSize(value: AttributeValue): number {
  // Strings: their UTF-8 bytes.
  if ('S' in value) return utf8(value.S);
  if ('N' in value) return numberSize(value.N);
  // Binary: the raw bytes, not their base64 form.
  if ('B' in value) return rawBytes(value.B);
  // Null and Boolean: 1 byte.
  if ('BOOL' in value || 'NULL' in value) return 1;
  // List and Map: 3 bytes of overhead, plus 1 byte per element; a map's keys count as attribute names.
  if ('L' in value) return 3 + sum(value.L, (element) => 1 + valueSize(element));
  if ('M' in value) return 3 + sum(Object.entries(value.M), ([name, element]) => 1 + utf8(name) + valueSize(element));
  // Sets: the sum of their elements.
  if ('SS' in value) return sum(value.SS, utf8);
  if ('NS' in value) return sum(value.NS, numberSize);
  return sum(value.BS, rawBytes);
}

/**
 * Numbers: 1 byte per two significant digits, plus 1 byte; leading and trailing zeroes are
 * trimmed (so 1000 and 0.001 have one significant digit). AWS calls this "approximately".
 */
export function numberSize(wire: string): number {
  const mantissa = wire.trim().replace(/^[+-]/, '').split(/e/i)[0] ?? '';
  const significant = mantissa.replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(significant.length / 2) + 1;
}
