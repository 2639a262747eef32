/**
 * Where an export's objects go. The export writes every object as a stream
 * into a sink; the S3 sink (s3-sink.ts) uploads it, the directory sink below
 * writes plain files in the same layout (`npm run export -- --out DIR`).
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface ExportSink {
  /** What the announcement and the tools name as the export's home: a bucket name, or a directory. */
  readonly location: string;
  /**
   * Stores what `body` yields under `key`, whole or not at all: the object
   * appears once its last byte is stored. If `body` fails (the export destroys
   * it to abort a part), nothing is stored under `key` and the promise rejects.
   */
  put(key: string, body: Readable, contentType: string): Promise<void>;
}

/** Plain files under `directory`, at the objects' keys; each written to a temporary name and renamed when complete. */
export function directorySink(directory: string): ExportSink {
  const root = path.resolve(directory);
  return {
    location: root,
    async put(key, body) {
      const file = path.join(root, ...key.split('/'));
      const partial = `${file}.partial`;
      await mkdir(path.dirname(file), { recursive: true });
      try {
        await pipeline(body, createWriteStream(partial));
        await rename(partial, file);
      } catch (error) {
        await rm(partial, { force: true });
        throw error;
      }
    },
  };
}
