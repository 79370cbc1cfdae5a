/**
 * onnxruntime-web's WebAssembly build, run inside Node: the fallback where onnxruntime-node has no
 * binary (32-bit ARM) or does not load. Its .wasm files are read from the package directory (never
 * fetched). Threads are a process-wide wasm setting fixed when the first session initialises the
 * wasm module; the default is one thread (no worker threads).
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EdgeDistillError } from '../../errors.js';
import type { Backend } from '../backend.js';
import { OrtSession, openError, ortModule, sessionOptions, type OrtModuleLike } from './ort-session.js';

/** Directory of onnxruntime-web's dist files (the .mjs glue and .wasm binaries). */
export function ortWebDistDir(): string {
  // The "node" export condition resolves to dist/ort.node.min.js, next to the wasm files.
  return dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
}

/**
 * Threads the wasm module was initialised with (set by the first open). Module state, not backend
 * state: onnxruntime-web initialises its wasm once per process, even if the backend is re-created.
 */
let initThreads: number | null = null;

export async function createOrtWebBackend(): Promise<Backend> {
  let ort: OrtModuleLike;
  let distDir: string;
  try {
    distDir = ortWebDistDir();
    ort = ortModule(await import('onnxruntime-web'));
  } catch (e) {
    throw new EdgeDistillError('UNSUPPORTED', `onnxruntime-web failed to load: ${(e as Error)?.message ?? String(e)}`, {
      cause: e,
      suggestion: 'install onnxruntime-web',
    });
  }
  const wasm = ort.env.wasm as { numThreads?: number; wasmPaths?: unknown; proxy?: boolean };
  if (initThreads === null) {
    wasm.wasmPaths = pathToFileURL(`${distDir}/`).href;
    wasm.proxy = false;
    wasm.numThreads = 1;
  }
  const version = ort.env.versions?.web ?? ort.env.versions?.common ?? 'unknown';
  return {
    name: 'ort-web',
    formats: ['onnx'],
    async open(artifact, opts) {
      if (initThreads === null) {
        initThreads = opts.threads ?? 1;
        wasm.numThreads = initThreads;
      } else if (opts.threads !== undefined && opts.threads !== initThreads) {
        throw new EdgeDistillError(
          'UNSUPPORTED',
          `ort-web already runs with ${initThreads} thread(s) in this process; its wasm thread count cannot change`,
          { file: artifact.path, field: 'threads', suggestion: `pass threads: ${initThreads}, or load in a new process` },
        );
      }
      try {
        const bytes = artifact.bytes ?? new Uint8Array(0);
        const session = await ort.InferenceSession.create(bytes, sessionOptions('wasm', initThreads as number));
        return new OrtSession(ort, session, 'ort-web', artifact.path, {
          library: 'onnxruntime-web',
          version,
          threads: initThreads,
          wasmDir: distDir,
        });
      } catch (e) {
        throw openError('ort-web', artifact.path, e);
      }
    },
  };
}
