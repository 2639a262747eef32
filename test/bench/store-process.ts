/**
 * Runs the embedded store (in memory) in a process of its own, as DynamoDB is
 * remote from a Lambda: the processes measured by the benchmark then spend
 * their CPU and memory on the service alone, not on dynalite as well.
 * Started by bench.ts with fork(); answers `{endpoint}` over IPC and exits
 * when its parent goes away.
 */
import { startLocalStore } from '../../infra/local/local-store';

async function main() {
  const store = await startLocalStore();
  process.send?.({ endpoint: store.endpoint });
  process.on('disconnect', () => {
    void store.close().finally(() => process.exit(0));
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
