/**
 * Invokes the schedule handler once in a plain Node process with Powertools
 * metrics ON, so its EMF records reach stdout (one JSON object per line), for
 * the alarm test to check that each alarm watches a metric the handlers really
 * publish, with exactly the dimensions they publish it with. The endpoint and
 * table decide the failure: a table that does not exist is a bug on our side
 * (internal_error), a store that refuses connections an outage (service_unavailable).
 *
 *   tsx test/infra/metrics-probe.ts <dynamodb endpoint> <table name>
 */
export {};
async function main(): Promise<void> {
  const [endpoint, tableName] = process.argv.slice(2);
  if (!endpoint || !tableName) throw new Error('usage: metrics-probe.ts <dynamodb endpoint> <table name>');
  Object.assign(process.env, {
    DYNAMODB_ENDPOINT: endpoint,
    TABLE_NAME: tableName,
    AWS_REGION: 'local',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'false',
    // As the stack sets them on every function (infra/constructs/handler-function.ts).
    POWERTOOLS_SERVICE_NAME: 'session-improvement',
    POWERTOOLS_METRICS_NAMESPACE: 'SessionImprovement',
  });
  // Imported after the environment is set: the handlers read it once, at load.
  const { buildHttpEvent, buildLambdaContext } = await import('../../infra/local/lambda-event');
  const { routeNamed } = await import('../../shared/routes');
  const { handler } = await import('../../functions/schedule-session');
  const route = routeNamed('ScheduleSession');
  const event = buildHttpEvent(
    { method: route.method, url: route.path, headers: { 'content-type': 'application/json' }, body: '{"session_id":"probe"}' },
    `${route.method} ${route.path}`,
  );
  const result = await handler(event, buildLambdaContext(route.name, route.timeoutSeconds));
  process.stderr.write(`status ${result.statusCode}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
