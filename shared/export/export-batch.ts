/**
 * Exports a released batch as gzip JSON Lines parts and, last, a manifest
 * (README "Delivery"). Pure: the store, the sink and the clock come in.
 *
 * Resumable at part boundaries: when its time runs low the export returns a
 * cursor (the number the next part starts after, and the parts written so
 * far) instead of finishing, and is called again with it. A part still being
 * written then is given up (nothing of it is stored) and written again, from
 * its first session, by the next call: every part is stored whole, and the
 * same batch always gives the same parts, whoever writes them and however
 * often. The first part of a call is always finished, so every call makes
 * progress; a part must therefore fit in one call's time.
 */
import { Readable } from 'node:stream';
import type { PagingStore } from '../domain/store';
import { BatchLines, type ExportLine } from './batch-lines';
import {
  EXPORT_FORMAT,
  manifestKey,
  MANIFEST_CONTENT_TYPE,
  PART_LIMITS,
  partKey,
  type Manifest,
  type PartEntry,
  type PartLimits,
} from './layout';
import { PartWriter } from './part-writer';
import type { ExportSink } from './sink';

/** Where an export stopped: the parts written so far, and the number the next part starts after. */
export interface ExportCursor {
  after_number: number;
  parts: PartEntry[];
}

export interface ExportRequest {
  batchId: string;
  releaseId: string | null;
  releasedAt: number | null;
  /** Where a previous call stopped; none starts from the batch's first session. */
  cursor?: ExportCursor | null;
  /** Milliseconds left before this call must have returned; checked between sessions. */
  timeLeftMs: () => number;
  /** @default PART_LIMITS */
  limits?: PartLimits;
  /** @default the clock, in unix seconds */
  now?: () => number;
  /** Sees each part once it is stored. */
  onPart?: (part: PartEntry) => void;
}

export type ExportStep =
  | { done: false; cursor: ExportCursor }
  | { done: true; manifestKey: string; manifest: Manifest };

const unixSeconds = () => Math.floor(Date.now() / 1000);

export async function exportBatch(store: PagingStore, sink: ExportSink, request: ExportRequest): Promise<ExportStep> {
  const { batchId, timeLeftMs } = request;
  const limits = request.limits ?? PART_LIMITS;
  let cursor: ExportCursor = request.cursor ?? { after_number: 0, parts: [] };
  const lines = new BatchLines(store, batchId, cursor.after_number);

  let next = await lines.next();
  let partsWritten = 0;
  let longestPartMs = 0;
  while (next) {
    // A part that cannot finish in the time left would only be given up.
    if (partsWritten > 0 && timeLeftMs() <= longestPartMs) return { done: false, cursor };
    const started = performance.now();
    const written = await writePart(partKey(batchId, cursor.parts.length), next, {
      lines,
      sink,
      limits,
      mayAbort: partsWritten > 0,
      timeLeftMs,
    });
    if (!written) return { done: false, cursor };
    cursor = { after_number: written.lastNumber, parts: [...cursor.parts, written.part] };
    request.onPart?.(written.part);
    partsWritten++;
    longestPartMs = Math.max(longestPartMs, performance.now() - started);
    next = written.next;
  }

  const manifest: Manifest = {
    batch_id: batchId,
    release_id: request.releaseId,
    released_at: request.releasedAt,
    exported_at: (request.now ?? unixSeconds)(),
    format: EXPORT_FORMAT,
    sessions: sum(cursor.parts, 'sessions'),
    events: sum(cursor.parts, 'events'),
    parts: cursor.parts,
  };
  const key = manifestKey(batchId);
  await sink.put(key, Readable.from([Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`)]), MANIFEST_CONTENT_TYPE);
  return { done: true, manifestKey: key, manifest };
}

interface PartContext {
  lines: BatchLines;
  sink: ExportSink;
  limits: PartLimits;
  /** False for a call's first part, which always finishes. */
  mayAbort: boolean;
  timeLeftMs: () => number;
}

/**
 * Writes one part from `first` on, as far as the limits allow. Returns the
 * part and the first line of the next one, or undefined if time ran out and
 * the part was given up.
 */
async function writePart(key: string, first: ExportLine, context: PartContext) {
  const { lines, limits } = context;
  const writer = new PartWriter(context.sink, key);
  let line: ExportLine | undefined = first;
  let sessions = 0;
  let events = 0;
  let bytes = 0;
  let lastNumber = first.sessionNumber;
  try {
    while (line && sessions < limits.maxSessions && (sessions === 0 || bytes + line.bytes <= limits.maxBytes)) {
      if (context.mayAbort && context.timeLeftMs() <= 0) {
        await writer.abort();
        return undefined;
      }
      await writer.write(line.text);
      sessions++;
      events += line.events;
      bytes += line.bytes;
      lastNumber = line.sessionNumber;
      line = await lines.next();
    }
  } catch (error) {
    await writer.abort();
    throw error;
  }
  const stored = await writer.finish();
  const part: PartEntry = { key, sessions, events, bytes: stored.bytes, sha256: stored.sha256 };
  return { part, lastNumber, next: line };
}

const sum = (parts: PartEntry[], field: 'sessions' | 'events') => parts.reduce((total, part) => total + part[field], 0);
