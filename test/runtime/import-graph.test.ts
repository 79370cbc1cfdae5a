/**
 * "Small" (issue 7 item 2): the runtime never imports tfjs or pipeline code, and each backend's
 * package is reachable only through a dynamic import, so a device installs only what it uses.
 * esbuild resolves the graph from runtime/src/index.ts (packages left external) and its metafile
 * says, per import, whether it is static or dynamic.
 */
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const BACKEND_PACKAGES = ['onnxruntime-node', 'onnxruntime-web', '@litertjs/core'];

type Edge = Metafile['inputs'][string]['imports'][number];
const isStatic = (e: Edge): boolean => e.kind === 'import-statement' || e.kind === 'require-call';
const packageOf = (spec: string): string => {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
};

let meta: Metafile;
let staticFiles: Set<string>;
let staticPackages: Set<string>;
let dynamicEdges: { from: string; to: string; external: boolean }[];

beforeAll(async () => {
  const result = await build({
    absWorkingDir: root,
    entryPoints: ['runtime/src/index.ts'],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    splitting: true,
    outdir: 'out',
    packages: 'external',
    logLevel: 'silent',
  });
  meta = result.metafile;
  // Walk static edges only, from the entry.
  staticFiles = new Set();
  staticPackages = new Set();
  const todo = ['runtime/src/index.ts'];
  while (todo.length > 0) {
    const f = todo.pop()!;
    if (staticFiles.has(f)) continue;
    staticFiles.add(f);
    for (const e of meta.inputs[f]?.imports ?? []) {
      if (!isStatic(e)) continue;
      if (e.external) staticPackages.add(packageOf(e.path));
      else todo.push(e.path);
    }
  }
  dynamicEdges = Object.entries(meta.inputs).flatMap(([from, input]) =>
    input.imports.filter((e) => e.kind === 'dynamic-import').map((e) => ({ from, to: e.path, external: !!e.external })),
  );
});

describe('runtime import graph', () => {
  it('walks a real graph (envs, errors, policy loading)', () => {
    expect(staticFiles.has('runtime/src/errors.ts')).toBe(true);
    expect(staticFiles.has('runtime/src/policy/load.ts')).toBe(true);
    expect([...staticFiles].some((f) => f.startsWith('runtime/src/envs/'))).toBe(true);
  });

  it('reaches no pipeline module and no @tensorflow package, statically or dynamically', () => {
    const everything = [...Object.keys(meta.inputs), ...Object.values(meta.inputs).flatMap((i) => i.imports.map((e) => e.path))];
    expect(everything.filter((p) => p.startsWith('pipeline/') || p.includes('/pipeline/src/'))).toEqual([]);
    expect(everything.filter((p) => p.startsWith('@tensorflow/') || p.includes('node_modules/@tensorflow/'))).toEqual([]);
    expect(everything.filter((p) => p.startsWith('@edgedistill/pipeline'))).toEqual([]);
  });

  it('keeps onnxruntime-node, onnxruntime-web and @litertjs/core out of the static graph', () => {
    for (const pkg of BACKEND_PACKAGES) expect(staticPackages.has(pkg), pkg).toBe(false);
    // Only Node built-ins are imported statically.
    expect([...staticPackages].filter((p) => !p.startsWith('node:'))).toEqual([]);
  });

  it('reaches each backend package through a dynamic import', () => {
    const dynamicTargets = new Set(dynamicEdges.map((e) => e.to));
    for (const backend of ['runtime/src/policy/backends/ort-node.ts', 'runtime/src/policy/backends/ort-web.ts', 'runtime/src/policy/backends/js.ts', 'runtime/src/backends/litert-backend.ts']) {
      expect(dynamicTargets.has(backend), backend).toBe(true);
      expect(staticFiles.has(backend), backend).toBe(false);
    }
    const dynamicPackages = new Set(dynamicEdges.filter((e) => e.external).map((e) => packageOf(e.to)));
    for (const pkg of BACKEND_PACKAGES) expect(dynamicPackages.has(pkg), pkg).toBe(true);
  });
});
