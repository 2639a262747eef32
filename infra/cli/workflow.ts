/**
 * `npm run workflow [-- <execution-name>] [--wait]`: synthesizes the stack,
 * takes its release state machine, and runs it with aws-local-stepfunctions
 * against the store and the S3 server `npm start` serves: the release and
 * export tasks call the real handlers, the EventBridge announcement is
 * printed instead of sent.
 * The execution name is the release id, as in AWS: re-running a name releases
 * nothing new. The settle Wait is skipped unless --wait is given.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { EXPORT_FUNCTION } from '../../shared/export/export-function';
import { routeNamed } from '../../shared/routes';
import { buildLambdaContext } from '../local/lambda-event';
import type { EventLog, PutEventsEntry } from '../local/stepfunctions/state-machine';
import { checkExportTarget, checkTarget, EXPORT_TARGET_HELP, resolveExportTarget, resolveTarget, TARGET_HELP } from './target';

// Loaded in main(), after the environment is set: the stack and the handlers
// import Powertools, which reads POWERTOOLS_* when its modules load.
let modules: {
  app: typeof import('../build-app');
  workflow: typeof import('../constructs/release-workflow');
  local: typeof import('../local/stepfunctions/state-machine');
};

const USAGE = `Usage: npm run workflow -- [execution-name] [--wait]

Runs the synthesized release workflow locally.
  execution-name  the execution name, used as release id (default: manual-<timestamp>);
                  the same name again releases nothing new and announces the same batch
  --wait          really wait out the settle window instead of skipping it

${TARGET_HELP}
${EXPORT_TARGET_HELP}`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { wait: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help || positionals.length > 1) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const executionName = positionals[0] ?? `manual-${new Date().toISOString().replace(/[^0-9]/g, '').slice(0, 14)}`;

  const target = resolveTarget();
  const { endpoint, tableName } = target;
  const exportTarget = resolveExportTarget();
  // The handler modules read these when they load, so they are set before the import below.
  process.env.DYNAMODB_ENDPOINT = endpoint;
  process.env.TABLE_NAME = tableName;
  if (exportTarget.endpoint) process.env.S3_ENDPOINT = exportTarget.endpoint;
  process.env.EXPORT_BUCKET = exportTarget.bucket;
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

  await checkTarget(target);
  await checkExportTarget(exportTarget);
  modules = {
    app: await import('../build-app'),
    workflow: await import('../constructs/release-workflow'),
    local: await import('../local/stepfunctions/state-machine'),
  };
  const { STACK_NAME } = modules.app;
  const { RELEASE_STATES } = modules.workflow;

  const started = Date.now();
  const machine = synthesizeStateMachine();
  const settleSeconds = machine.definition.States[RELEASE_STATES.settle]?.Seconds as number;
  process.stdout.write(`Synthesized ${STACK_NAME} in ${Date.now() - started} ms; state machine ${machine.logicalId}\n`);
  process.stdout.write(`Execution "${executionName}" (release_id), store ${endpoint}, table "${tableName}"\n`);
  process.stdout.write(`Exports to bucket "${exportTarget.bucket}" at ${exportTarget.endpoint ?? 'S3'}\n\n`);

  const { handler } = await import('../../functions/release-batch');
  const { handler: exportHandler } = await import('../../functions/export-batch');
  const route = routeNamed('ReleaseBatch');
  const published: PutEventsEntry[] = [];

  const result = await modules.local.runReleaseWorkflow(machine, {
    executionName,
    invokeRelease: (payload) => handler(payload, buildLambdaContext(route.name, route.timeoutSeconds)),
    invokeExport: (payload) => exportHandler(payload, buildLambdaContext(EXPORT_FUNCTION.name, EXPORT_FUNCTION.timeoutSeconds)),
    publish: (entries) => void published.push(...entries),
    settleWaitMs: values.wait ? null : 0,
    onEvent: (event) => printEvent(event, { settleSeconds, wait: values.wait, published }),
  });

  if (result.status === 'FAILED') {
    process.stdout.write(`\nExecution FAILED: ${result.error?.name}: ${result.error?.message}\n`);
    return 1;
  }
  if (published.length === 0) {
    process.stdout.write(`\nSucceeded: nothing to announce (${result.output?.error?.Cause ?? 'no batch was released'}).\n`);
  } else {
    const { bucket, manifest_key } = result.output.export;
    process.stdout.write(`\nSucceeded: announced batch ${result.output.batch_id} (release ${result.output.release_id}).\n`);
    process.stdout.write(`Export: s3://${bucket}/${manifest_key} (read it back with any S3 client at ${exportTarget.endpoint ?? 'S3'}; README "Reading an export").\n`);
  }
  return 0;
}

/** Builds the app in-process (no bundling: the definition does not depend on it) and reads its state machine. */
function synthesizeStateMachine() {
  const outdir = mkdtempSync(path.join(tmpdir(), 'workflow-synth-'));
  try {
    const { app } = modules.app.buildApp({ outdir, bundle: false, validateTemplate: false });
    return modules.local.stateMachineFromTemplate(app.synth().getStackByName(modules.app.STACK_NAME).template);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

const json = (value: unknown) => JSON.stringify(value);
const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

function printEvent(event: EventLog, info: { settleSeconds: number; wait: boolean; published: PutEventsEntry[] }) {
  const { RELEASE_STATES } = modules.workflow;
  const out = (line: string) => process.stdout.write(`${line}\n`);
  switch (event.type) {
    case 'ExecutionStarted':
      out(`▶ execution started, input ${json(event.input)}`);
      break;
    case 'StateEntered':
      out(`→ ${event.state.name} (${event.state.type})`);
      if (event.state.name === RELEASE_STATES.settle) {
        out(
          info.wait
            ? `    waiting the settle window: ${info.settleSeconds} s`
            : `    would wait the settle window: ${info.settleSeconds} s; skipped locally (--wait waits)`,
        );
      }
      break;
    case 'StateExited':
      if (event.state.name === RELEASE_STATES.export) {
        // The state carries the cursor's part list: say what it means instead.
        const step = (event.state.output as { export: { done: boolean; cursor?: { after_number: number; parts: unknown[] }; manifest_key?: string; sessions?: number; events?: number } }).export;
        out(
          step.done
            ? `← ${event.state.name}  done: ${count(step.sessions!, 'session')}, ${count(step.events!, 'event')}; manifest ${step.manifest_key}`
            : `← ${event.state.name}  ${count(step.cursor!.parts.length, 'part')} so far; the next call goes on after session ${step.cursor!.after_number}`,
        );
        break;
      }
      out(`← ${event.state.name}  output ${json(event.state.output)}`);
      if (event.state.name === RELEASE_STATES.announce) {
        for (const entry of info.published) {
          out(`    announced on ${entry.EventBusName}:`);
          out(`    ${json({ source: entry.Source, 'detail-type': entry.DetailType, detail: entry.Detail })}`);
        }
      }
      if (event.state.name === RELEASE_STATES.nothingToAnnounce) out('    nothing to announce');
      break;
    case 'StateFailed':
      out(`✗ ${event.state.name} failed: ${event.Error}: ${String(event.Cause)}`);
      break;
    case 'StateRetried':
      out(`↻ ${event.state.name} retried (attempt ${event.retry.attempt})`);
      break;
    case 'StateCaught':
      out(`⤷ ${event.state.name} caught ${json(event.catch.catcher.ErrorEquals)} → ${event.catch.catcher.Next}`);
      break;
    case 'ExecutionSucceeded':
      out('■ execution succeeded');
      break;
    case 'ExecutionFailed':
      out(`■ execution failed: ${event.Error}`);
      break;
    default:
      break;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
