/**
 * How every handler is bundled, defined once: the stack hands these options
 * to NodejsFunction (local esbuild, no Docker), and the benchmark and the
 * bundle-size test build with the same esbuild options.
 */
import type { BuildOptions } from 'esbuild';
import * as path from 'node:path';

/** The project root: handler entries in the route table are relative to it. */
export const PROJECT_ROOT = path.resolve(__dirname, '..');

/** Lambda's runtime for the handlers; esbuild targets the same Node version. */
export const LAMBDA_NODE_MAJOR = 22;

/**
 * ESM needs `require` for the few CommonJS dependencies esbuild leaves as
 * require() calls (the AWS SDK's Node built-ins).
 */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __createRequire } from 'module'; const require = __createRequire(import.meta.url);";

export const BUNDLING = {
  minify: true,
  sourceMap: true,
  /**
   * Maps without the sources' text: stack traces still resolve to file:line, and
   * NODE_OPTIONS=--enable-source-maps parses the whole map at every cold start
   * (a 3× smaller map; ~10 ms less module load, measured by npm run bench).
   */
  sourcesContent: false,
  target: `node${LAMBDA_NODE_MAJOR}`,
  format: 'esm',
  mainFields: ['module', 'main'],
  banner: ESM_REQUIRE_BANNER,
  /** Bundle the AWS SDK too: the lockfile, not the runtime, decides its version. */
  externalModules: [] as string[],
} as const;

/** The esbuild options NodejsFunction derives from BUNDLING, for building a bundle outside CDK. */
export function esbuildOptions(entryPoint: string, outfile: string): BuildOptions {
  return {
    entryPoints: [entryPoint],
    outfile,
    bundle: true,
    platform: 'node',
    minify: BUNDLING.minify,
    sourcemap: BUNDLING.sourceMap,
    sourcesContent: BUNDLING.sourcesContent,
    target: BUNDLING.target,
    format: BUNDLING.format,
    mainFields: [...BUNDLING.mainFields],
    banner: { js: BUNDLING.banner },
    external: [...BUNDLING.externalModules],
    metafile: true,
    logLevel: 'silent',
  };
}
