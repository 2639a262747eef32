/**
 * Module-load time of a bundle in a fresh Node process, the part of a Lambda
 * cold start the code controls. Each run spawns `node`, which times the
 * import() of the bundle with performance.now(); bundles are measured
 * interleaved (A, B, A, B…) so drift in the machine's load hits all alike.
 */
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../shared/observability';
import { median } from './stats';

/**
 * The environment Lambda gives the handlers (infra/constructs/handler-function.ts
 * sets POWERTOOLS_* and NODE_OPTIONS; the stack sets TABLE_NAME), with
 * placeholder credentials and no DYNAMODB_ENDPOINT: nothing may be contacted at load.
 */
export const LAMBDA_LIKE_ENV: Record<string, string> = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'cold-start-bench',
  AWS_SECRET_ACCESS_KEY: 'cold-start-bench',
  AWS_LAMBDA_FUNCTION_NAME: 'cold-start-bench',
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
  TABLE_NAME: 'cold-start-bench',
  POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
  POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
  NODE_OPTIONS: '--enable-source-maps',
  // Lambda runs Node 22, where the SDK prints no "newer versions need Node 22" notice; Node 20 here would.
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

/**
 * Runs in the child: times the import, then waits a moment and reports any
 * socket, HTTP request or fetch the module started, seen on Node's
 * diagnostics channels and in the active handles (a network call at load
 * would slow every cold start, and fail without network).
 */
const CHILD_SCRIPT = `
import { subscribe } from 'node:diagnostics_channel';
const network = [];
for (const channel of ['net.client.socket', 'http.client.request.start', 'undici:request:create']) {
  subscribe(channel, () => network.push(channel));
}
const builtinsBefore = new Set(process.moduleLoadList);
const cpu = process.cpuUsage();
const started = performance.now();
await import(process.argv[1]);
const loaded = performance.now();
const used = process.cpuUsage(cpu);
const builtins = process.moduleLoadList
  .filter((m) => !builtinsBefore.has(m) && m.startsWith('NativeModule ') && !m.includes('internal/'))
  .map((m) => m.slice('NativeModule '.length));
await new Promise((resolve) => setTimeout(resolve, 50));
network.push(...process.getActiveResourcesInfo().filter((r) => /TCP|GetAddrInfo|TLS|UDP/.test(r)));
console.log(JSON.stringify({ importMs: loaded - started, importCpuMs: (used.user + used.system) / 1000, sinceProcessStartMs: loaded, network, builtins }));
`;

export interface LoadSample {
  importMs: number;
  /** CPU time of the import (all threads of the process): less disturbed by other load than wall time. */
  importCpuMs: number;
  sinceProcessStartMs: number;
  network: string[];
  /** Node built-in modules the import loaded (each costs load time; the baseline's show what the SDK needs). */
  builtins: string[];
}

export function loadOnce(bundleFile: string): Promise<LoadSample> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD_SCRIPT, pathToFileURL(bundleFile).href], {
      env: LAMBDA_LIKE_ENV,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`Loading ${bundleFile} failed (${code}): ${stderr}`));
      else resolve(JSON.parse(line) as LoadSample);
    });
  });
}

export interface ColdInitResult {
  name: string;
  runs: number;
  medianImportMs: number;
  medianImportCpuMs: number;
  medianSinceProcessStartMs: number;
  importMs: number[];
  networkAtLoad: string[];
  builtinsLoaded: string[];
}

/** Loads every bundle `runs` times, interleaved, after one unmeasured load each (warms the page cache). */
export async function measureColdInit(bundles: { name: string; file: string }[], runs: number): Promise<ColdInitResult[]> {
  const warmUp: LoadSample[] = [];
  for (const bundle of bundles) warmUp.push(await loadOnce(bundle.file));
  const samples = bundles.map(() => [] as LoadSample[]);
  for (let run = 0; run < runs; run++) {
    for (const [i, bundle] of bundles.entries()) samples[i]!.push(await loadOnce(bundle.file));
  }
  return bundles.map((bundle, i) => ({
    name: bundle.name,
    runs,
    medianImportMs: median(samples[i]!.map((s) => s.importMs)),
    medianImportCpuMs: median(samples[i]!.map((s) => s.importCpuMs)),
    medianSinceProcessStartMs: median(samples[i]!.map((s) => s.sinceProcessStartMs)),
    importMs: samples[i]!.map((s) => round(s.importMs)),
    networkAtLoad: [...new Set(samples[i]!.flatMap((s) => s.network))],
    builtinsLoaded: warmUp[i]!.builtins,
  }));
}

const round = (ms: number) => Math.round(ms * 10) / 10;
