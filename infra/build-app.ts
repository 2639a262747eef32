/**
 * Builds the CDK app: the one stack, configured from context, with cdk-nag's
 * AwsSolutions checks on every synth. infra/app.ts (the `cdk` entry), the
 * template tests and the local workflow runner all build it here, so they
 * synthesize the same thing.
 */
import { App, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from './bundling';
import { DEFAULT_API_THROTTLE, SessionImprovementStack } from './stack';

export const STACK_NAME = 'SessionImprovement';

export interface BuildAppOptions {
  /** Where the cloud assembly goes (default: the CDK CLI's CDK_OUTDIR, else a temporary directory). */
  outdir?: string;
  /** Context values over cdk.json's (the CLI passes cdk.json and -c values itself). */
  context?: Record<string, unknown>;
  /** false skips esbuild bundling: the template is the same, the asset is a placeholder. */
  bundle?: boolean;
  /**
   * false skips CDK's built-in CloudFormation template validation (about 2 s
   * per synth); the local workflow runner, which only reads the state machine,
   * turns it off. cdk-nag runs either way.
   */
  validateTemplate?: boolean;
}

/** cdk.json's context: the CLI hands it to the app, in-process builds read it here. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}

const REMOVAL_POLICIES: Record<string, RemovalPolicy> = {
  retain: RemovalPolicy.RETAIN,
  destroy: RemovalPolicy.DESTROY,
};

export function buildApp(options: BuildAppOptions = {}): { app: App; stack: SessionImprovementStack } {
  const app = new App({
    outdir: options.outdir,
    builtinCloudFormationValidation: options.validateTemplate ?? true,
    context: {
      ...cdkJsonContext(),
      ...options.context,
      // CDK's own switch for skipping asset bundling (the CLI sets it for `cdk deploy --exclusively`).
      ...(options.bundle === false ? { 'aws:cdk:bundling-stacks': [] } : {}),
    },
  });

  const context = (key: string): string | undefined => {
    const value = app.node.tryGetContext(key);
    return value === undefined || value === null || value === '' ? undefined : String(value);
  };
  // Unset context keys fall back to the stack's own defaults (infra/stack.ts), the one place they are set.
  const removal = context('tableRemovalPolicy');
  const tableRemovalPolicy = removal === undefined ? undefined : REMOVAL_POLICIES[removal.toLowerCase()];
  if (removal !== undefined && !tableRemovalPolicy) throw new Error(`tableRemovalPolicy "${removal}" must be "retain" or "destroy".`);

  const wholeNumber = (key: string): number | undefined => {
    const value = context(key);
    if (value === undefined) return undefined;
    if (!/^[0-9]+$/.test(value)) throw new Error(`${key} "${value}" must be a whole number.`);
    return Number(value);
  };
  const [rateLimit, burstLimit] = [wholeNumber('apiThrottleRate'), wholeNumber('apiThrottleBurst')];

  const stack = new SessionImprovementStack(app, STACK_NAME, {
    description: 'Session improvement service: HTTP API, single table, release workflow, exports to S3',
    scheduleExpression: context('scheduleExpression'),
    tableRemovalPolicy,
    alarmEmail: context('alarmEmail'),
    // One of the two given keeps the stack's default for the other.
    apiThrottle: rateLimit === undefined && burstLimit === undefined ? undefined : {
      rateLimit: rateLimit ?? DEFAULT_API_THROTTLE.rateLimit,
      burstLimit: burstLimit ?? DEFAULT_API_THROTTLE.burstLimit,
    },
    shardCount: wholeNumber('shardCount'),
  });

  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack };
}
