/**
 * Builds the deployed handler bundles exactly as the stack does (the esbuild
 * options of infra/bundling.ts, one per route of shared/routes.ts, ESM output
 * as index.mjs like NodejsFunction) and the baseline bundle built the same
 * way, for the cold-start and bundle-size budgets.
 */
import * as esbuild from 'esbuild';
import path from 'node:path';
import { esbuildOptions, PROJECT_ROOT } from '../../infra/bundling';
import { EXPORT_FUNCTION } from '../../shared/export/export-function';
import { ROUTES } from '../../shared/routes';


export const BASELINE_NAME = 'Baseline';
/** A module that only creates a DocumentClient: what every handler must load anyway. */
export const BASELINE_ENTRY = 'test/bench/baseline-client.ts';

export interface BuiltBundle {
  name: string;
  entry: string;
  /** Absolute path of the bundle (index.mjs). */
  file: string;
  /** Size of the bundle itself (not its source map). */
  bytes: number;
  metafile: esbuild.Metafile;
}

/**
 * The API handlers (one per route), the baseline, and the export function,
 * which is apart: it is on no request's path (the workflow calls it once a
 * release), so the cold-start and size budgets of the handlers are not its.
 */
export async function buildBundles(
  outDir: string,
): Promise<{ handlers: BuiltBundle[]; baseline: BuiltBundle; exportFunction: BuiltBundle }> {
  const targets = [
    ...ROUTES.map((r) => ({ name: r.name, entry: r.entry })),
    { name: BASELINE_NAME, entry: BASELINE_ENTRY },
    { name: EXPORT_FUNCTION.name, entry: EXPORT_FUNCTION.entry },
  ];
  const built = await Promise.all(targets.map((target) => buildBundle(target.name, target.entry, outDir)));
  return { handlers: built.slice(0, -2), baseline: built.at(-2)!, exportFunction: built.at(-1)! };
}

async function buildBundle(name: string, entry: string, outDir: string): Promise<BuiltBundle> {
  // NodejsFunction writes an ESM bundle as index.mjs; Node needs the .mjs to load it as ESM.
  const file = path.join(outDir, name, 'index.mjs');
  const result = await esbuild.build({ ...esbuildOptions(path.join(PROJECT_ROOT, entry), file), absWorkingDir: PROJECT_ROOT });
  const metafile = result.metafile!;
  const output = Object.entries(metafile.outputs).find(([, o]) => o.entryPoint !== undefined);
  if (!output) throw new Error(`esbuild reported no output for ${entry}`);
  return { name, entry, file, bytes: output[1].bytes, metafile };
}

export interface InputShare {
  /** An npm package (`@aws-lambda-powertools/logger`) or a project folder (`shared/data`). */
  source: string;
  bytes: number;
}

/** Bytes a bundle holds per package or project folder, largest first: where a heavy dependency shows. */
export function bytesBySource(bundle: BuiltBundle): InputShare[] {
  const output = Object.values(bundle.metafile.outputs).find((o) => o.entryPoint !== undefined)!;
  const totals = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const source = sourceOf(input);
    totals.set(source, (totals.get(source) ?? 0) + bytesInOutput);
  }
  return [...totals].map(([source, bytes]) => ({ source, bytes })).sort((a, b) => b.bytes - a.bytes);
}

const sourceOf = (input: string): string => {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  return pkg ? pkg[1]! : input.split('/').slice(0, 2).join('/');
};

/** What a handler bundle adds over the baseline, per source, largest first. */
export function bytesOverBaseline(bundle: BuiltBundle, baseline: BuiltBundle): InputShare[] {
  const base = new Map(bytesBySource(baseline).map((s) => [s.source, s.bytes]));
  return bytesBySource(bundle)
    .map(({ source, bytes }) => ({ source, bytes: bytes - (base.get(source) ?? 0) }))
    .filter((s) => s.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes);
}
