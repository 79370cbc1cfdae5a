/**
 * Picks the tfjs backend at run time: tfjs-node (native, when it loads), else the wasm backend
 * (SIMD when the CPU's wasm supports it; threads only when SharedArrayBuffer workers are available,
 * which plain Node does not give the wasm backend), else the pure-JS cpu backend. The caller
 * records which ran, because results are reproducible per seed *and* backend only.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { EdgeDistillError } from '@edgedistill/runtime/errors';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface BackendInfo {
  /** The tfjs backend that is active ("tensorflow" is tfjs-node). */
  name: BackendName;
  /** wasm only: whether the SIMD build and the threaded build are in use. */
  simd?: boolean;
  threads?: boolean;
  /** One line a person can read: "wasm (simd, 1 thread)". */
  description: string;
  /** Why faster backends were skipped. */
  skipped: string[];
}

let chosen: BackendInfo | null = null;

// Production mode: fewer per-op checks, and no "install tfjs-node" banner from the cpu backend
// (we already report which backend ran).
tf.env().set('PROD', true);

/** Directory of the wasm binaries inside node_modules, as a file URL ending in '/' (no network). */
export function wasmDistUrl(): string {
  const require = createRequire(import.meta.url);
  const pkgJson = require.resolve('@tensorflow/tfjs-backend-wasm/package.json');
  return `${pathToFileURL(join(dirname(pkgJson), 'dist')).href}/`;
}

/**
 * Initializes and returns the fastest backend that loads. `prefer` forces one (an error if it does
 * not load). Idempotent: later calls return the first choice.
 */
export async function initBackend(prefer?: BackendName): Promise<BackendInfo> {
  if (chosen && (!prefer || prefer === chosen.name)) return chosen;
  const skipped: string[] = [];
  const order: BackendName[] = prefer ? [prefer] : ['tensorflow', 'wasm', 'cpu'];
  for (const name of order) {
    try {
      if (name === 'tensorflow') {
        // Not a declared dependency (it cannot install offline); loads only when the user added it.
        const modName = '@tensorflow/tfjs-node';
        await import(modName);
        if (!(await tf.setBackend('tensorflow'))) throw new Error('setBackend("tensorflow") returned false');
        await tf.ready();
        chosen = { name, description: 'tensorflow (tfjs-node, native)', skipped };
        return chosen;
      }
      if (name === 'wasm') {
        const wasm = await import('@tensorflow/tfjs-backend-wasm');
        // A directory prefix with Emscripten's own loader: in Node it reads the .wasm files from disk
        // (tfjs's platform fetch cannot read file: URLs), so no network is needed.
        wasm.setWasmPaths(`${new URL(wasmDistUrl()).pathname}`, false);
        // The threaded build needs Web Workers from a Blob URL, which Node does not run.
        if (typeof (globalThis as { Worker?: unknown }).Worker === 'undefined') {
          tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
        }
        if (!(await tf.setBackend('wasm'))) throw new Error('setBackend("wasm") returned false');
        await tf.ready();
        const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
        const threads = Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'));
        chosen = {
          name,
          simd,
          threads,
          description: `wasm (${simd ? 'simd' : 'no simd'}, ${threads ? 'multi-threaded' : '1 thread'})`,
          skipped,
        };
        return chosen;
      }
      if (!(await tf.setBackend('cpu'))) throw new Error('setBackend("cpu") returned false');
      await tf.ready();
      chosen = { name: 'cpu', description: 'cpu (pure JavaScript)', skipped };
      return chosen;
    } catch (e) {
      const code = (e as { code?: string })?.code;
      const why = code === 'ERR_MODULE_NOT_FOUND' ? 'package not installed' : String((e as Error)?.message ?? e).split('\n')[0];
      skipped.push(`${name}: ${why}`);
    }
  }
  throw new EdgeDistillError('UNSUPPORTED', `tfjs backend ${order.join(', ')} did not load: ${skipped.join('; ')}`, {
    field: '--backend',
    suggestion: prefer === 'tensorflow' ? 'install @tensorflow/tfjs-node, or leave --backend out to use wasm' : 'leave --backend out to pick the fastest that loads',
  });
}

export { tf };
