/**
 * The embedded S3-compatible server (s3rver) of the local runtime: path-style
 * requests on 127.0.0.1, objects persisted under a directory in s3rver's own
 * folder format (read them back through the S3 API), the given buckets
 * created at start.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import S3rver, { type S3rverEvent } from 's3rver';

export interface LocalS3 {
  endpoint: string;
  port: number;
  /** Every object written, as S3 would notify it. */
  onObjectCreated(listener: (bucket: string, key: string) => void): void;
  close(): Promise<void>;
}

export async function startLocalS3(options: { port?: number; directory: string; buckets: readonly string[] }): Promise<LocalS3> {
  const s3rver = new S3rver({
    directory: options.directory,
    silent: true,
    configureBuckets: options.buckets.map((name) => ({ name })),
  });
  await s3rver.configureBuckets();
  const handle = s3rver.callback();
  const server = createServer((request, response) => {
    // Any credentials: s3rver knows only its own dummy key, and checks no V4 signature anyway.
    delete request.headers.authorization;
    handle(request, response);
  });
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    onObjectCreated(listener) {
      s3rver.on('event', (event: S3rverEvent) => {
        for (const record of event.Records) {
          if (record.eventName.startsWith('ObjectCreated:')) listener(record.s3.bucket.name, record.s3.object.key);
        }
      });
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive connections of clients would hold the server open.
        server.closeAllConnections();
      }),
  };
}
