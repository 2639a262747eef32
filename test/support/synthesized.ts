/**
 * The stack's template as `cdk synth` writes it, without bundling the
 * functions (the workflow's definition does not depend on the bundles) or
 * cdk-nag's checks (test/infra/stack.test.ts runs those), for tests that run
 * the synthesized state machine or read its pipe.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildApp, STACK_NAME } from '../../infra/build-app';
import type { CfnTemplate } from '../../infra/local/stepfunctions/state-machine';

export function synthesizedTemplate(): CfnTemplate {
  const outdir = mkdtempSync(path.join(tmpdir(), 'cdk-synth-'));
  try {
    const { app } = buildApp({ outdir, bundle: false, validateTemplate: false });
    return app.synth().getStackByName(STACK_NAME).template as CfnTemplate;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
