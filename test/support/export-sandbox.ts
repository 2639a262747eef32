/**
 * A Lambda container for the export, in a process of its own: the real
 * middleware and export task, invoked over IPC once per workflow loop with a
 * context whose time really runs out, so that its memory is the export's
 * alone and it can be killed between two writes like a function Lambda
 * kills. Started by startExportSandbox() (export-sandbox-client.ts).
 *
 * argv[2] (JSON): {store: 'table' | {synthetic: SyntheticBatchOptions}, limits?}.
 * Messages in: {invoke: payload, remainingMs} or {stats: true}; out: {result} | {error} | {stats}.
 */
import { readFileSync } from 'node:fs';
import { buildLambdaContext } from '../../infra/local/lambda-event';
import { EXPORT_FUNCTION } from '../../shared/export/export-function';
import type { PartLimits } from '../../shared/export/layout';
import { exportTask } from '../../shared/export/export-task';
import { createS3Client } from '../../shared/s3-client';
import { s3Sink } from '../../shared/export/s3-sink';
import { invocationHandler } from '../../shared/http/middleware';
import { SyntheticBatch, type SyntheticBatchOptions } from './synthetic-batch';

export interface SandboxConfig {
  store: 'table' | { synthetic: SyntheticBatchOptions };
  limits?: PartLimits;
}

export type SandboxMessage = { invoke: unknown; remainingMs: number } | { stats: true };
export type SandboxAnswer =
  | { result: unknown }
  | { error: { name: string; message: string } }
  | { stats: { peakRssMb: number; rssMb: number } };

const MIB = 1024 * 1024;

/** The table from the environment, loaded only when asked for: it requires TABLE_NAME. */
async function tableStore() {
  const [{ pagingStore }, { table }] = await Promise.all([import('../../shared/data/dynamo-store'), import('../../shared/data/store-from-env')]);
  return pagingStore(table);
}

async function main() {
  const config = JSON.parse(process.argv[2]!) as SandboxConfig;
  const store = config.store === 'table' ? await tableStore() : new SyntheticBatch(config.store.synthetic);
  const sink = s3Sink(createS3Client({ endpoint: process.env.S3_ENDPOINT }), process.env.EXPORT_BUCKET!);
  const handler = invocationHandler(exportTask({ store, sink, limits: config.limits }));

  process.on('message', async (message: SandboxMessage) => {
    let answer: SandboxAnswer;
    if ('stats' in message) {
      // The kernel's high-water mark of this process's resident memory.
      const peak = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
      answer = { stats: { peakRssMb: peak ? (Number(peak[1]) * 1024) / MIB : Number.NaN, rssMb: process.memoryUsage().rss / MIB } };
    } else {
      // A context whose remaining time counts down from what the test gives this call.
      const context = buildLambdaContext(EXPORT_FUNCTION.name, message.remainingMs / 1000);
      try {
        answer = { result: await handler(message.invoke, context) };
      } catch (error) {
        answer = { error: { name: (error as Error).name, message: (error as Error).message } };
      }
    }
    process.send!(answer);
  });
  process.on('disconnect', () => process.exit(0));
  process.send!({ ready: true });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
