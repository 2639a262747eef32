/**
 * Runs the embedded S3 server in a process of its own, in a temporary
 * directory, as S3 is remote from a Lambda. Started by bench.ts with fork();
 * answers `{endpoint, bucket}` over IPC and exits (removing its directory)
 * when its parent goes away.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startLocalS3 } from '../../infra/local/local-s3';

export const BENCH_BUCKET = 'bench-exports';

async function main() {
  const directory = mkdtempSync(path.join(tmpdir(), 'bench-s3-'));
  const s3 = await startLocalS3({ directory, buckets: [BENCH_BUCKET] });
  process.send?.({ endpoint: s3.endpoint, bucket: BENCH_BUCKET });
  process.on('disconnect', () => {
    void s3.close().finally(() => {
      rmSync(directory, { recursive: true, force: true });
      process.exit(0);
    });
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
