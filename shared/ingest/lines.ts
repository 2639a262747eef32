/**
 * Reading import input line by line: a byte stream split at "\n" with each
 * line's UTF-8 checked on its own, then decoded as JSON by the rules HTTP
 * bodies follow too. Shared by every import format.
 */
import { parseJsonText } from '../json-text';

/** Longest line read; past it a line is rejected without being held in memory. */
export const MAX_LINE_BYTES = 32 * 1024 * 1024;

export const BLANK = Symbol('blank line');
export const TOO_LONG = Symbol('line too long');

/** What a UTF-16 file looks like to a UTF-8 reader: NUL bytes (ASCII text), or a UTF-16 byte-order mark. */
const UTF16_HINT = 'is the file UTF-16? The import reads UTF-8';

/**
 * Decodes one line as a JSON value: strict UTF-8, then JSON by the rules HTTP
 * bodies follow too (a leading byte-order mark ignored, a key twice refused);
 * blank lines are BLANK.
 */
export function decodeJsonLine(bytes: Uint8Array | typeof TOO_LONG): { value: unknown } | { reason: string } | typeof BLANK {
  if (bytes === TOO_LONG) return { reason: `line is longer than ${MAX_LINE_BYTES} bytes` };
  let text: string;
  try {
    // fatal: a byte sequence that is not UTF-8 rejects the line instead of becoming U+FFFD.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    const utf16 = (bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff);
    return { reason: utf16 ? `not valid UTF-8 (${UTF16_HINT})` : 'not valid UTF-8' };
  }
  if (text.trim() === '') return BLANK;
  const json = parseJsonText(text);
  if ('repeatedKey' in json) return { reason: `the key ${JSON.stringify(json.repeatedKey)} appears twice in one object` };
  if ('syntaxError' in json) {
    // JSON never holds a raw NUL, not even in a string.
    return { reason: text.includes('\u0000') ? `not valid JSON: it holds NUL bytes (${UTF16_HINT})` : `not valid JSON (${json.syntaxError})` };
  }
  return json;
}

/**
 * Text safe to print on a terminal: control characters (C0, DEL, C1) and the
 * invisible bidirectional controls that reorder a line are written as \uXXXX.
 */
export const printable = (text: string): string =>
  text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/**
 * Splits a byte stream at "\n" (a trailing "\r" is dropped), keeping bytes as
 * bytes so that each line's UTF-8 is checked on its own. Hand-written:
 * readline decodes first and would hide invalid UTF-8.
 */
export async function* splitLines(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array | typeof TOO_LONG> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let tooLong = false;
  const take = (tail: Buffer) => {
    const long = tooLong || pendingBytes + tail.length > MAX_LINE_BYTES;
    const line = long ? TOO_LONG : stripCarriageReturn(Buffer.concat([...pending, tail]));
    pending = [];
    pendingBytes = 0;
    tooLong = false;
    return line;
  };
  for await (const piece of source) {
    const chunk = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    let start = 0;
    for (let newline = chunk.indexOf(0x0a); newline !== -1; newline = chunk.indexOf(0x0a, start)) {
      yield take(chunk.subarray(start, newline));
      start = newline + 1;
    }
    if (start < chunk.length && !tooLong) {
      pending.push(chunk.subarray(start));
      pendingBytes += chunk.length - start;
      if (pendingBytes > MAX_LINE_BYTES) {
        tooLong = true;
        pending = [];
      }
    }
  }
  if (pending.length > 0 || tooLong) yield take(Buffer.alloc(0));
}

const stripCarriageReturn = (line: Buffer): Buffer => (line.at(-1) === 0x0d ? line.subarray(0, -1) : line);
