/**
 * Which files of the backend packages a bundle ships, per backend and device arch. The runtime
 * entry is bundled by esbuild with these packages external; they go to runtime/node_modules/ so
 * Node's resolution from runtime/edgedistill-device.mjs finds them. Only what runs:
 * - ort-node: its JS, and the native binaries of linux/<arch> only (never another platform's);
 * - ort-web: the Node entry and the one wasm build it loads in Node (no threads, no JSEP/WebGPU);
 * - litert: the JS and the two single-threaded wasm builds LiteRT.js picks between (compat and
 *   relaxed SIMD);
 * - js: nothing (compiled modules are self-contained).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import type { BackendId } from '../../../runtime/src/bundle/manifest.js';
import type { DeviceArch } from '../devices/profile.js';

export interface RuntimeFile {
  /** Path inside the bundle, e.g. runtime/node_modules/onnxruntime-node/dist/index.js */
  readonly bundlePath: string;
  readonly source: string;
  readonly executable: boolean;
}

export interface PackageUse {
  readonly name: string;
  readonly version: string;
  readonly files: number;
  readonly bytes: number;
}

/** Packages (besides the bundled runtime) each backend needs on the device. */
export const BACKEND_PACKAGES: Readonly<Record<BackendId, readonly string[]>> = {
  js: [],
  'ort-node': ['onnxruntime-node', 'onnxruntime-common'],
  'ort-web': ['onnxruntime-web', 'onnxruntime-common'],
  litert: ['@litertjs/core', '@litertjs/wasm-utils'],
};

/** Every package the runtime imports dynamically: external to esbuild, shipped as files. */
export const EXTERNAL_PACKAGES: readonly string[] = ['onnxruntime-node', 'onnxruntime-web', 'onnxruntime-common', '@litertjs/core', '@litertjs/wasm-utils'];

/** The `bin/napi-v*` platform directory name of onnxruntime-node for a device arch, or null. */
export function ortNodePlatformDir(arch: DeviceArch): string | null {
  return arch === 'arm64' ? 'linux/arm64' : arch === 'x64' ? 'linux/x64' : null;
}

/** Which files of a package to ship (paths relative to the package root, forward slashes). */
export function packageFileFilter(pkg: string, arch: DeviceArch): (rel: string) => boolean {
  const noise = (rel: string) => rel.endsWith('.map') || rel.endsWith('.d.ts') || rel.endsWith('.d.ts.map') || /(^|\/)(README|CHANGELOG)[^/]*$/i.test(rel);
  switch (pkg) {
    case 'onnxruntime-node': {
      const plat = ortNodePlatformDir(arch);
      return (rel) =>
        !noise(rel) &&
        (rel === 'package.json' ||
          /^dist\/[^/]+\.js$/.test(rel) ||
          (plat !== null && new RegExp(`^bin/napi-v[0-9]+/${plat}/[^/]+$`).test(rel)));
    }
    case 'onnxruntime-common':
      return (rel) => !noise(rel) && (rel === 'package.json' || /^dist\/(cjs|esm)\/.+\.(js|json)$/.test(rel));
    case 'onnxruntime-web':
      // The "node" export (import: ort.node.min.mjs; require: ort.node.min.js, which the runtime
      // resolves to find the wasm directory) and the one wasm build it loads in Node:
      // ort-wasm-simd-threaded.{mjs,wasm} (one thread, no proxy).
      return (rel) =>
        rel === 'package.json' ||
        rel === 'dist/ort.node.min.mjs' ||
        rel === 'dist/ort.node.min.js' ||
        rel === 'dist/ort-wasm-simd-threaded.mjs' ||
        rel === 'dist/ort-wasm-simd-threaded.wasm';
    case '@litertjs/core':
      return (rel) =>
        rel === 'package.json' || rel === 'dist/index.js' || /^wasm\/litert_wasm_(compat_)?internal\.(js|wasm)$/.test(rel);
    case '@litertjs/wasm-utils':
      return (rel) => rel === 'package.json' || rel === 'dist/index.js';
    default:
      return (rel) => !noise(rel);
  }
}

/** Package root directory, resolved as the runtime package would resolve it. */
export function packageDir(pkg: string): string {
  const req = createRequire(join(import.meta.dirname, '../../../runtime/package.json'));
  // Some packages do not export ./package.json: find the root from the main entry upwards.
  let entry: string;
  try {
    return dirname(req.resolve(`${pkg}/package.json`));
  } catch {
    /* fall through */
  }
  try {
    entry = req.resolve(pkg);
  } catch (e) {
    throw new EdgeDistillError('UNSUPPORTED', `the runtime package '${pkg}' is not installed: ${(e as Error).message}`, {
      cause: e,
      suggestion: 'run npm install in the repository',
    });
  }
  let dir = dirname(entry);
  for (;;) {
    try {
      const pj = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pj.name === pkg) return dir;
    } catch {
      /* keep going up */
    }
    const up = dirname(dir);
    if (up === dir) throw new EdgeDistillError('UNSUPPORTED', `cannot find the package root of '${pkg}' from ${entry}`);
    dir = up;
  }
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, ent.name);
    if (ent.isDirectory()) out.push(...walk(p));
    else if (ent.isFile()) out.push(p);
  }
  return out;
}

/** The runtime package files for these backends on this arch, sorted by bundle path. */
export function runtimeFiles(backends: Iterable<BackendId>, arch: DeviceArch): { files: RuntimeFile[]; packages: PackageUse[] } {
  const pkgs = new Set<string>();
  for (const b of backends) for (const p of BACKEND_PACKAGES[b]) pkgs.add(p);
  if (pkgs.has('onnxruntime-node') && ortNodePlatformDir(arch) === null) {
    throw new EdgeDistillError('UNSUPPORTED', `onnxruntime-node has no binary for ${arch}`, { field: 'backends', suggestion: "use 'ort-web' on 32-bit ARM" });
  }
  const files: RuntimeFile[] = [];
  const packages: PackageUse[] = [];
  for (const pkg of [...pkgs].sort()) {
    const root = packageDir(pkg);
    const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
    const keep = packageFileFilter(pkg, arch);
    let n = 0;
    let bytes = 0;
    for (const abs of walk(root)) {
      const rel = relative(root, abs).split(sep).join('/');
      if (rel.startsWith('node_modules/') || !keep(rel)) continue;
      const st = statSync(abs);
      files.push({ bundlePath: `runtime/node_modules/${pkg}/${rel}`, source: abs, executable: (st.mode & 0o111) !== 0 && !rel.endsWith('.json') });
      n++;
      bytes += st.size;
    }
    if (n === 0) throw new EdgeDistillError('UNSUPPORTED', `no files of '${pkg}' match what the ${arch} bundle needs`, { file: root });
    packages.push({ name: pkg, version, files: n, bytes });
  }
  files.sort((a, b) => (a.bundlePath < b.bundlePath ? -1 : a.bundlePath > b.bundlePath ? 1 : 0));
  return { files, packages };
}
