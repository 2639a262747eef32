/**
 * The bundle_size_ratio budget, checked on every `npm test`: each deployed
 * handler bundle (built as the stack builds it) may be at most 1.2 × a bundle
 * that only creates a DocumentClient. A heavy dependency slipping into a
 * handler fails here, with the packages that grew the bundle listed.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROUTES } from '../../shared/routes';
import { buildBundles, bytesBySource, bytesOverBaseline, type BuiltBundle } from './bundles';

const BUNDLE_SIZE_BUDGET = 1.2;

let outDir: string;
let handlers: BuiltBundle[];
let baseline: BuiltBundle;
let exportFunction: BuiltBundle;

beforeAll(async () => {
  outDir = mkdtempSync(path.join(os.tmpdir(), 'bundle-size-'));
  ({ handlers, baseline, exportFunction } = await buildBundles(outDir));
});

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

/** What to look at when the budget fails: the largest sources of the bundle and what it adds over the baseline. */
function explain(bundle: BuiltBundle): string {
  const lines = [
    `${bundle.name} (${bundle.entry}) is ${kb(bundle.bytes)}, ${(bundle.bytes / baseline.bytes).toFixed(3)} × the baseline ${kb(baseline.bytes)}.`,
    'Added over the baseline, by package or folder:',
    ...bytesOverBaseline(bundle, baseline).slice(0, 10).map((s) => `  +${kb(s.bytes).padStart(10)}  ${s.source}`),
    'Largest inputs of the bundle:',
    ...bytesBySource(bundle).slice(0, 10).map((s) => `   ${kb(s.bytes).padStart(10)}  ${s.source}`),
  ];
  return lines.join('\n');
}

test('one bundle per route, built with the stack’s options as ESM index.mjs', () => {
  expect(handlers.map((h) => h.name)).toEqual(ROUTES.map((r) => r.name));
  for (const bundle of [...handlers, baseline]) {
    expect(bundle.file.endsWith(`${path.sep}index.mjs`)).toBe(true);
    // The baseline must really hold the SDK, or the ratio would compare against nothing.
    expect(bytesBySource(bundle).map((s) => s.source)).toContain('@aws-sdk/client-dynamodb');
  }
  expect(baseline.bytes).toBeGreaterThan(100 * 1024);
});

// Lambda runs the handlers with --enable-source-maps, which reads and parses the whole map at
// every cold start: embedded sources made it 3× larger and the load ~10 ms slower (npm run bench).
test('source maps carry mappings only, not the sources', () => {
  for (const bundle of [...handlers, baseline]) {
    const map = JSON.parse(readFileSync(`${bundle.file}.map`, 'utf8')) as { mappings?: string; sourcesContent?: unknown };
    expect(map.mappings?.length).toBeGreaterThan(0);
    expect(map.sourcesContent).toBeUndefined();
  }
});

test.each(ROUTES.map((r) => r.name))('%s bundle holds nothing of the deployment, the local host, the import, the stored data’s schemas or the OpenAPI document', (name) => {
  const bundle = handlers.find((h) => h.name === name)!;
  const inputs = Object.keys(bundle.metafile.inputs);
  // The check must see the project's own inputs, or it would pass on any bundle.
  expect(inputs).toContain(ROUTES.find((r) => r.name === name)!.entry);
  const misplaced = inputs.filter((input) => /^(infra\/|shared\/ingest\/|shared\/(openapi|data-schemas)\.ts$)/.test(input));
  expect(misplaced).toEqual([]);
});

test.each(ROUTES.map((r) => r.name))(`%s bundle is at most ${BUNDLE_SIZE_BUDGET} × the DocumentClient-only baseline`, (name) => {
  const bundle = handlers.find((h) => h.name === name)!;
  const ratio = bundle.bytes / baseline.bytes;
  if (ratio > BUNDLE_SIZE_BUDGET) throw new Error(`Bundle size budget exceeded.\n${explain(bundle)}`);
  expect(ratio).toBeLessThanOrEqual(BUNDLE_SIZE_BUDGET);
});

test('the export function bundle holds nothing of the deployment, the local host, the import or the OpenAPI document', () => {
  const inputs = Object.keys(exportFunction.metafile.inputs);
  expect(inputs).toContain('functions/export-batch.ts');
  expect(inputs.filter((input) => /^(infra\/|shared\/ingest\/|shared\/openapi\.ts$)/.test(input))).toEqual([]);
  // It carries the S3 client and lib-storage; no API handler does (they stay within their budget above).
  expect(bytesBySource(exportFunction).map((s) => s.source)).toEqual(expect.arrayContaining(['@aws-sdk/client-s3', '@aws-sdk/lib-storage']));
  for (const handler of handlers) expect(bytesBySource(handler).map((s) => s.source)).not.toContain('@aws-sdk/client-s3');
});
