/**
 * Runs the SYNTHESIZED release workflow locally: takes the CloudFormation
 * template, turns its state machine's DefinitionString into plain ASL (joins
 * the Fn::Join, replaces Ref/Fn::GetAtt with fixed placeholder ARNs), and runs
 * it with aws-local-stepfunctions, the release and export tasks answered by
 * local functions (the real handlers) and the announce task by a recorder.
 * A failed run can be redriven as Step Functions redrives an execution: from
 * the state that failed, with the input that state had.
 */
import './promise-with-resolvers';
import { randomUUID } from 'node:crypto';
import { StateMachine } from 'aws-local-stepfunctions';
import { RELEASE_STATES } from '../../constructs/release-workflow';

/** One entry of the execution's event log (state entered/exited, retried, caught…); the package does not export the type. */
export type EventLog = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

export interface CfnTemplate {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

/** Placeholder account and region: the definition only needs well-formed ARNs, nothing calls AWS. */
export const LOCAL_AWS = { partition: 'aws', region: 'us-east-1', accountId: '123456789012' } as const;

const PSEUDO_PARAMETERS: Record<string, string> = {
  'AWS::Partition': LOCAL_AWS.partition,
  'AWS::Region': LOCAL_AWS.region,
  'AWS::AccountId': LOCAL_AWS.accountId,
  'AWS::URLSuffix': 'amazonaws.com',
};

/** Fixed ARN of a template resource, shaped like the real one for the types the workflow references. */
export function placeholderArn(logicalId: string, type: string): string {
  const { partition, region, accountId } = LOCAL_AWS;
  switch (type) {
    case 'AWS::Lambda::Function':
      return `arn:${partition}:lambda:${region}:${accountId}:function:${logicalId}`;
    case 'AWS::Events::EventBus':
      return `arn:${partition}:events:${region}:${accountId}:event-bus/${logicalId}`;
    case 'AWS::StepFunctions::StateMachine':
      return `arn:${partition}:states:${region}:${accountId}:stateMachine:${logicalId}`;
    default: {
      const service = type.split('::')[1]?.toLowerCase() ?? 'local';
      return `arn:${partition}:${service}:${region}:${accountId}:${logicalId}`;
    }
  }
}

function resolveIntrinsic(value: unknown, template: CfnTemplate): string {
  if (typeof value === 'string') return value;
  const resource = (logicalId: string) => {
    const found = template.Resources[logicalId];
    if (!found) throw new Error(`The definition references ${logicalId}, which is not in the template.`);
    return found;
  };
  if (value && typeof value === 'object') {
    const intrinsic = value as Record<string, unknown>;
    if (typeof intrinsic.Ref === 'string') {
      const pseudo = PSEUDO_PARAMETERS[intrinsic.Ref];
      if (pseudo) return pseudo;
      const target = resource(intrinsic.Ref);
      // Ref is the name for these types and the ARN for the rest (a state machine's Ref is its ARN).
      return ['AWS::Lambda::Function', 'AWS::Events::EventBus'].includes(target.Type)
        ? intrinsic.Ref
        : placeholderArn(intrinsic.Ref, target.Type);
    }
    if (Array.isArray(intrinsic['Fn::GetAtt'])) {
      const [logicalId, attribute] = intrinsic['Fn::GetAtt'] as [string, string];
      const target = resource(logicalId);
      if (attribute === 'Arn') return placeholderArn(logicalId, target.Type);
      if (attribute === 'Name') return logicalId;
      throw new Error(`Fn::GetAtt ${logicalId}.${attribute} has no local placeholder.`);
    }
    if (Array.isArray(intrinsic['Fn::Join'])) {
      const [separator, parts] = intrinsic['Fn::Join'] as [string, unknown[]];
      return parts.map((part) => resolveIntrinsic(part, template)).join(separator);
    }
  }
  throw new Error(`Cannot resolve ${JSON.stringify(value)} in the state machine definition locally.`);
}

export interface SynthesizedStateMachine {
  logicalId: string;
  /** Runnable Amazon States Language. */
  definition: Record<string, any>;
}

/** The template's one AWS::StepFunctions::StateMachine, as runnable ASL. */
export function stateMachineFromTemplate(template: CfnTemplate): SynthesizedStateMachine {
  const machines = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine');
  if (machines.length !== 1) throw new Error(`Expected one state machine in the template, found ${machines.length}.`);
  const [logicalId, resource] = machines[0]!;
  if (resource.Properties?.DefinitionSubstitutions) {
    throw new Error('DefinitionSubstitutions are not supported by the local runner.');
  }
  const definitionString = resolveIntrinsic(resource.Properties?.DefinitionString, template);
  return { logicalId, definition: JSON.parse(definitionString) };
}

/** One entry of an EventBridge PutEvents call, as the announce task sends it. */
export interface PutEventsEntry {
  Source: string;
  DetailType: string;
  EventBusName: string;
  /** The service integration passes Detail as JSON; the real API takes it as a string. */
  Detail: Record<string, unknown> | string;
}

export interface ReleaseRunOptions {
  /** The execution name; the workflow uses it as the release id. */
  executionName: string;
  input?: Record<string, unknown>;
  /** Answers the release task as the Lambda function would: gets the Payload, returns the function's result or throws. */
  invokeRelease(payload: unknown): Promise<unknown>;
  /** Answers the export task as the Lambda function would, once per loop: gets the payload, returns the function's result or throws. */
  invokeExport(payload: unknown): Promise<unknown>;
  /** Receives the announce task's entries (in AWS: EventBridge PutEvents). */
  publish?(entries: PutEventsEntry[]): void | Promise<void>;
  /** Milliseconds the settle Wait really pauses (default 0); null keeps the definition's Seconds. */
  settleWaitMs?: number | null;
  /** Milliseconds between retries of every retrier (default: the definition's backoff with jitter). */
  retryIntervalMs?: number;
  /** Sees each execution event (state entered/exited, retried, caught…) as it happens. */
  onEvent?(event: EventLog): void;
}

export interface ReleaseRunResult {
  status: 'SUCCEEDED' | 'FAILED';
  output?: any;
  error?: { name: string; message: string };
  events: EventLog[];
  /** Names of the states entered, in order (retries enter a state once). */
  statesEntered: string[];
}

/**
 * Runs the release workflow definition once. The release task (Lambda Invoke
 * integration) gets {FunctionName, Payload} and answers {Payload} as Step
 * Functions' integration does; the export task invokes its function directly
 * and gets and answers the payload itself; the PutEvents task answers
 * {Entries:[{EventId}]}.
 */
export function runReleaseWorkflow(machine: SynthesizedStateMachine, options: ReleaseRunOptions): Promise<ReleaseRunResult> {
  return runFrom(machine, machine.definition, options.input ?? {}, options);
}

/**
 * Redrives a failed run as Step Functions redrives an execution: the same
 * definition, started again at the state that failed, with the input it had
 * (a task's retries count from zero again). States that succeeded are not run again.
 */
export function redriveReleaseWorkflow(
  machine: SynthesizedStateMachine,
  failed: ReleaseRunResult,
  options: Omit<ReleaseRunOptions, 'input'>,
): Promise<ReleaseRunResult> {
  const failure = failed.events.findLast((e) => e.type === 'StateFailed');
  if (failed.status !== 'FAILED' || !failure || !('state' in failure)) throw new Error('Only a run that failed in a state can be redriven.');
  return runFrom(machine, startingAt(machine.definition, failure.state.name), failure.state.input as Record<string, unknown>, options);
}

/** The definition started at `start`, without the states it can no longer reach (the runner refuses unreachable states). */
function startingAt(definition: Record<string, any>, start: string): Record<string, any> {
  const reachable = new Set<string>();
  const visit = (name: string | undefined) => {
    if (!name || reachable.has(name)) return;
    reachable.add(name);
    const state = definition.States[name];
    if (!state) throw new Error(`No state named ${name} in the definition.`);
    for (const next of [state.Next, state.Default, ...(state.Choices ?? []).map((c: any) => c.Next), ...(state.Catch ?? []).map((c: any) => c.Next)]) {
      visit(next);
    }
  };
  visit(start);
  return { ...definition, StartAt: start, States: Object.fromEntries([...reachable].map((name) => [name, definition.States[name]])) };
}

async function runFrom(
  machine: SynthesizedStateMachine,
  definition: Record<string, any>,
  input: Record<string, unknown>,
  options: Omit<ReleaseRunOptions, 'input'>,
): Promise<ReleaseRunResult> {
  const { partition, region, accountId } = LOCAL_AWS;
  const stateMachineArn = placeholderArn(machine.logicalId, 'AWS::StepFunctions::StateMachine');
  const stateMachine = new StateMachine(definition as any);

  const retryOverrides: Record<string, number> = {};
  if (options.retryIntervalMs !== undefined) {
    for (const name of Object.keys(definition.States)) retryOverrides[name] = options.retryIntervalMs;
  }
  const settleWaitMs = options.settleWaitMs === undefined ? 0 : options.settleWaitMs;

  const execution = stateMachine.run(input as any, {
    context: {
      Execution: {
        Id: `arn:${partition}:states:${region}:${accountId}:execution:${machine.logicalId}:${options.executionName}`,
        Name: options.executionName,
        Input: input as any,
        StartTime: new Date().toISOString(),
        RoleArn: `arn:${partition}:iam::${accountId}:role/local`,
      },
      StateMachine: { Id: stateMachineArn, Name: machine.logicalId },
    },
    overrides: {
      taskResourceLocalHandlers: {
        [RELEASE_STATES.release]: async (parameters: any) => ({
          ExecutedVersion: '$LATEST',
          StatusCode: 200,
          Payload: (await options.invokeRelease(parameters.Payload)) as any,
        }),
        [RELEASE_STATES.export]: async (payload: any) => (await options.invokeExport(payload)) as any,
        [RELEASE_STATES.announce]: async (parameters: any) => {
          const entries = parameters.Entries as PutEventsEntry[];
          await options.publish?.(entries);
          return { Entries: entries.map(() => ({ EventId: randomUUID() })), FailedEntryCount: 0 };
        },
      },
      waitTimeOverrides: settleWaitMs === null ? {} : { [RELEASE_STATES.settle]: settleWaitMs },
      retryIntervalOverrides: retryOverrides,
    },
  });

  const events: EventLog[] = [];
  const collecting = (async () => {
    for await (const event of execution.eventLogs) {
      events.push(event);
      options.onEvent?.(event);
    }
  })();

  let output: unknown;
  let failure: Error | undefined;
  try {
    output = await execution.result;
  } catch (error) {
    failure = error as Error;
  }
  await collecting;
  const statesEntered = events.flatMap((e) => (e.type === 'StateEntered' ? [e.state.name] : []));
  return failure
    ? { status: 'FAILED', error: executionError(failure, events), events, statesEntered }
    : { status: 'SUCCEEDED', output, events, statesEntered };
}

/** The error the execution failed with, as Step Functions reports it (Error + Cause). */
function executionError(error: Error, events: EventLog[]): { name: string; message: string } {
  const failed = events.find((e) => e.type === 'ExecutionFailed');
  if (failed && 'Error' in failed) return { name: failed.Error, message: String(failed.Cause) };
  return { name: error.name, message: error.message };
}
