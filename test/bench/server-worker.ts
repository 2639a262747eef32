/**
 * The local HTTP server (infra/local/server.ts) with the real handlers, in a
 * process of its own so the load generator does not share its event loop.
 * Answers `{url}` over IPC and serves until its parent goes away.
 */
import { createLocalServer } from '../../infra/local/server';

async function main() {
  // One line per request would only slow the server down under load.
  const server = await createLocalServer({ port: 0, log: () => undefined });
  process.send?.({ url: server.url });
  process.on('disconnect', () => {
    void server.close().finally(() => process.exit(0));
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
