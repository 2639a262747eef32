/**
 * What an export looks like in its bucket (or directory), defined once: the
 * object keys, the part limits, the line format's constants and the manifest.
 * Consumers rely on every name here (README "Delivery").
 */

/** Every key of a batch's export starts with this; the export function may write nothing else. */
export const EXPORT_PREFIX = 'batches/';

export const batchPrefix = (batchId: string): string => `${EXPORT_PREFIX}${batchId}/`;

/** part-00000.jsonl.gz, part-00001…: zero-padded so the parts list in order. */
export const partKey = (batchId: string, index: number): string =>
  `${batchPrefix(batchId)}part-${String(index).padStart(5, '0')}.jsonl.gz`;

/** Written last: its presence means the export is complete. */
export const manifestKey = (batchId: string): string => `${batchPrefix(batchId)}manifest.json`;

export const EXPORT_FORMAT = 'jsonl.gz';
export const PART_CONTENT_TYPE = 'application/gzip';
export const MANIFEST_CONTENT_TYPE = 'application/json';

/**
 * A part ends before the line that would take it past `maxBytes` of JSON
 * Lines (uncompressed, newlines included), or once it holds `maxSessions`
 * lines, whichever comes first. A part always holds at least one session, so
 * a session larger than `maxBytes` on its own makes a part of one line.
 */
export interface PartLimits {
  maxBytes: number;
  maxSessions: number;
}

export const PART_LIMITS: PartLimits = { maxBytes: 64 * 1024 * 1024, maxSessions: 50_000 };

/** A session carries at most this many events (its oldest); past it, `"events_truncated": true`. */
export const MAX_EVENTS_PER_SESSION = 10_000;

/**
 * Fixed, so that the same lines always compress to the same bytes (Node's
 * gzip header carries no timestamp). 6 is zlib's default balance of size and speed.
 */
export const GZIP_LEVEL = 6;

/** One part as the manifest lists it. `bytes` and `sha256` are of the object as stored (gzip). */
export interface PartEntry {
  key: string;
  sessions: number;
  events: number;
  bytes: number;
  sha256: string;
}

export interface Manifest {
  batch_id: string;
  /** null only for a batch released before batch records existed, whose release is unknown. */
  release_id: string | null;
  released_at: number | null;
  /** Unix seconds when the manifest was written: the one field a re-export changes. */
  exported_at: number;
  format: typeof EXPORT_FORMAT;
  sessions: number;
  events: number;
  parts: PartEntry[];
}
