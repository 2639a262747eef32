/**
 * One part on its way into the sink: lines in, gzip out, streamed, with the
 * stored bytes counted and hashed as they pass. Lines are handed to gzip in
 * chunks cut at fixed positions within the part, so the same lines always
 * meet the compressor in the same pieces and give the same bytes, however
 * they were read.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { pipeline, Transform } from 'node:stream';
import { createGzip } from 'node:zlib';
import { GZIP_LEVEL, PART_CONTENT_TYPE } from './layout';
import type { ExportSink } from './sink';

/** Lines are gathered to about this many characters before gzip sees them (one zlib call each). */
const CHUNK_CHARS = 256 * 1024;

class PartAborted extends Error {
  override name = 'PartAborted';
}

export class PartWriter {
  private readonly gzip = createGzip({ level: GZIP_LEVEL });
  private readonly hash = createHash('sha256');
  private storedBytes = 0;
  private chunk: string[] = [];
  private chunkChars = 0;
  private readonly stored: Promise<void>;
  /** Rejects when the sink fails; never resolves. A write waiting for gzip to drain must not wait forever. */
  private readonly failed: Promise<never>;

  constructor(sink: ExportSink, key: string) {
    const hash = this.hash;
    const count = (bytes: number) => (this.storedBytes += bytes);
    const tap = new Transform({
      transform(data: Buffer, _encoding, done) {
        hash.update(data);
        count(data.length);
        done(null, data);
      },
    });
    // Errors reach the caller through the sink, which reads `tap`.
    pipeline(this.gzip, tap, () => undefined);
    this.stored = sink.put(key, tap, PART_CONTENT_TYPE);
    this.failed = this.stored.then(() => new Promise<never>(() => undefined));
    this.stored.catch(() => undefined);
    this.failed.catch(() => undefined);
  }

  async write(text: string): Promise<void> {
    this.chunk.push(text);
    this.chunkChars += text.length;
    if (this.chunkChars >= CHUNK_CHARS) await this.flush();
  }

  /** Ends the part and waits until the sink holds all of it. */
  async finish(): Promise<{ bytes: number; sha256: string }> {
    await this.flush();
    this.gzip.end();
    await this.stored;
    return { bytes: this.storedBytes, sha256: this.hash.digest('hex') };
  }

  /** Gives the part up: the sink stores nothing of it (an S3 multipart upload is aborted). */
  async abort(): Promise<void> {
    this.gzip.destroy(new PartAborted('The part was given up before its end.'));
    await this.stored.catch(() => undefined);
  }

  private async flush(): Promise<void> {
    if (this.chunk.length === 0) return;
    const data = Buffer.from(this.chunk.join(''));
    this.chunk = [];
    this.chunkChars = 0;
    if (!this.gzip.write(data)) await Promise.race([once(this.gzip, 'drain'), this.failed]);
  }
}
