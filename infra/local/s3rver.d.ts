// s3rver ships no types; this is the part of its API the local runtime uses.
declare module 's3rver' {
  import type { EventEmitter } from 'node:events';
  import type { IncomingMessage, ServerResponse } from 'node:http';
  interface S3rverOptions {
    directory: string;
    silent?: boolean;
    configureBuckets?: { name: string }[];
  }
  /** An S3 notification, emitted after every object write (put, copy, completed multipart upload). */
  export interface S3rverEvent {
    Records: { eventName: string; s3: { bucket: { name: string }; object: { key: string; size: number } } }[];
  }
  export default class S3rver extends EventEmitter {
    constructor(options: S3rverOptions);
    /** Creates the configured buckets in the store (what run() does before listening). */
    configureBuckets(): Promise<void>;
    /** The request listener, to mount on a server of one's own. */
    callback(): (request: IncomingMessage, response: ServerResponse) => void;
  }
}
