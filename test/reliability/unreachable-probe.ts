/**
 * Calls the three handlers, in a plain Node process, with DynamoDB unreachable
 * (DYNAMODB_ENDPOINT on a closed loopback port), and prints one JSON line per
 * call. Run by outage.test.ts: inside jest, Node's own socket errors come from
 * another realm, fail the SDK's `instanceof Error` and reach the handler
 * wrapped without their code, which Lambda never does.
 *
 *   tsx test/reliability/unreachable-probe.ts <closed port>
 */
async function main(): Promise<void> {
  const port = Number(process.argv[2]);
  if (!Number.isInteger(port) || port <= 0) throw new Error('usage: unreachable-probe.ts <closed port>');
  Object.assign(process.env, {
    DYNAMODB_ENDPOINT: `http://127.0.0.1:${port}`,
    TABLE_NAME: 'unreachable',
    AWS_REGION: 'local',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  // Imported after the environment is set: the handlers read it once, at load.
  const { documentClient } = await import('../../shared/data/store-from-env');
  const support = await import('../support/handlers');

  let attempts = 0;
  let logicalCalls = 0;
  let inFlight: Array<Promise<unknown>> = [];
  documentClient.middlewareStack.add(
    (next) => async (args) => {
      logicalCalls++;
      const result = next(args);
      inFlight.push(result.catch(() => undefined));
      return result;
    },
    { step: 'initialize' },
  );
  documentClient.middlewareStack.add((next) => async (args) => (attempts++, next(args)), {
    step: 'finalizeRequest',
    priority: 'low',
  });

  const calls: Record<string, () => Promise<unknown>> = {
    schedule: () => support.scheduleOverHttp('unreachable-session'),
    page: () => support.pageOverHttp({ batch_id: '000001' }),
    release: () => support.releaseOverHttp('unreachable-release'),
    releaseDirect: () =>
      support.releaseDirect({ release_id: 'unreachable-release' }).then(
        (answer) => ({ answer }),
        (error: Error) => ({ thrown: { name: error.name, message: error.message } }),
      ),
  };
  for (const [name, call] of Object.entries(calls)) {
    attempts = 0;
    logicalCalls = 0;
    const started = performance.now();
    const result = await call();
    const ms = Math.round(performance.now() - started);
    // A parallel sibling call may still be retrying: let it finish before counting.
    while (inFlight.length > 0) await Promise.all(inFlight.splice(0));
    process.stdout.write(JSON.stringify({ probe: name, result, attempts, logicalCalls, ms }) + '\n');
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
