/**
 * JSON text as the service reads it, over HTTP and in the import alike: a
 * leading UTF-8 byte-order mark is ignored (RFC 8259 §8.1 lets a parser do
 * so), and an object that names a key twice is refused. JSON.parse would
 * keep the last value, while another reader (a proxy, a log pipeline) may
 * keep the first and so see another request (RFC 8259 §4 leaves it open).
 */

export type JsonText = { value: unknown } | { syntaxError: string } | { repeatedKey: string };

export function parseJsonText(text: string): JsonText {
  const json = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    return { syntaxError: (error as Error).message };
  }
  const key = repeatedKey(json);
  return key === undefined ? { value } : { repeatedKey: key };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The first key that appears twice in one object of a valid JSON text, or
 * undefined. Hand-written, ~30 lines: no small library reports duplicate keys
 * (the JSON parsers that do weigh tens of KB, too much for a Lambda bundle).
 * It only has to tell strings from structure, since JSON.parse has already
 * checked the grammar; keys are compared decoded ("a" and "\u0061" are one key).
 */
function repeatedKey(json: string): string | undefined {
  // One entry per open container: the keys seen so far in an object, undefined for an array.
  const open: Array<Set<string> | undefined> = [];
  let keyNext = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === QUOTE) {
      const end = closingQuote(json, i);
      if (keyNext) {
        const raw = json.slice(i + 1, end);
        const key = raw.includes('\\') ? (JSON.parse(json.slice(i, end + 1)) as string) : raw;
        const keys = open.at(-1)!;
        if (keys.has(key)) return key;
        keys.add(key);
        keyNext = false;
      }
      i = end;
    } else if (c === 0x7b /* { */) {
      open.push(new Set());
      keyNext = true;
    } else if (c === 0x5b /* [ */) {
      open.push(undefined);
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      open.pop();
    } else if (c === 0x2c /* , */) {
      keyNext = open.at(-1) !== undefined;
    }
  }
  return undefined;
}

/** The index of the quote that ends the string opened at `start`: the next one not escaped by an odd run of backslashes. */
function closingQuote(json: string, start: number): number {
  let end = start;
  for (;;) {
    end = json.indexOf('"', end + 1);
    if (end === -1) return json.length; // unterminated: only in text JSON.parse refused
    let backslashes = 0;
    while (json.charCodeAt(end - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return end;
  }
}
