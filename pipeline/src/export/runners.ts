/**
 * Runs each artifact in its real runtime on the golden set: onnxruntime-node for ONNX, LiteRT.js
 * (runtime/src/backends/litert) for TFLite, Node's own `import` of the module file for compiled JS,
 * gcc + the binary for C. Each returns the outputs (rows x outDim) and names the runtime.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { openTfliteModel } from '../../../runtime/src/backends/litert/index.js';
import { argmaxRow } from '../ir/forward.js';
import { createSession, loadOrt, runOnce } from '../onnx/ort.js';
import { compileAndRunC, findGcc } from './c/run.js';
import { importModuleFile } from './js/load.js';

export interface RunOutput {
  readonly output: Float32Array;
  readonly runtime: string;
}

export async function runOnnxFile(file: string, obs: Float32Array, rows: number, obsDim: number, outputName: string): Promise<RunOutput> {
  const bytes = await readFile(file);
  const ort = await loadOrt();
  const session = await createSession(bytes, file);
  try {
    const r = await runOnce(session, file, 'obs', outputName, obs, rows, obsDim);
    return { output: r.data, runtime: `onnxruntime-node ${ort.env.versions?.node ?? ort.env.versions?.common ?? ''}`.trim() };
  } finally {
    await session.release().catch(() => undefined);
  }
}

let litertVersion: string | null = null;
function liteRtVersion(): string {
  if (litertVersion === null) {
    try {
      const req = createRequire(import.meta.url);
      litertVersion = (req('@litertjs/core/package.json') as { version: string }).version;
    } catch {
      litertVersion = '';
    }
  }
  return litertVersion;
}

export async function runTfliteFile(file: string, obs: Float32Array, rows: number): Promise<RunOutput> {
  const m = await openTfliteModel(file);
  try {
    const output = await m.run(obs, rows);
    return { output, runtime: `LiteRT.js ${liteRtVersion()} (${m.wasmFile})`.replace(' ()', '') };
  } finally {
    m.dispose();
  }
}

/**
 * Imports the module file and calls `forward` on every row; `act` is checked to decode the same
 * action (discrete: start + argmax; continuous: the forward output) on every row.
 */
export async function runJsFile(file: string, obs: Float32Array, rows: number, obsDim: number): Promise<RunOutput> {
  const mod = await importModuleFile(file);
  const md = mod.metadata;
  const outDim = md.outDim;
  const output = new Float32Array(rows * outDim);
  const start = md.actionSpace.kind === 'discrete' ? (md.actionSpace.start ?? 0) : 0;
  for (let r = 0; r < rows; r++) {
    const x = obs.subarray(r * obsDim, (r + 1) * obsDim);
    const y = mod.forward(x);
    if (!(y instanceof Float32Array) || y.length !== outDim) {
      throw new EdgeDistillError('RUNTIME', `forward() returned something other than a Float32Array of ${outDim}`, { file, field: 'forward' });
    }
    output.set(y, r * outDim);
    const a = mod.act(x);
    const ok =
      md.actionSpace.kind === 'discrete'
        ? a === start + argmaxRow(y, outDim)
        : a instanceof Float32Array && a.every((v, i) => v === y[i]);
    if (!ok) throw new EdgeDistillError('RUNTIME', `act() disagrees with forward() on golden observation ${r}`, { file, field: 'act' });
  }
  return { output, runtime: `node ${process.version} (import)` };
}

export interface CRun extends RunOutput {
  /** policy_act agreed with policy_forward's argmax on every row (discrete). */
  readonly actConsistent: boolean;
}

/** null when gcc is not installed (the caller reports "not run"). */
export function runCSources(header: string, source: string, obs: Float32Array, rows: number, outDim: number, discrete: boolean, actionStart: number, file: string): CRun | null {
  const gcc = findGcc();
  if (!gcc) return null;
  const r = compileAndRunC(header, source, obs, rows, outDim, discrete, gcc, file);
  let actConsistent = true;
  if (r.actions) for (let i = 0; i < rows; i++) if (r.actions[i] !== actionStart + argmaxRow(r.output, outDim, i)) actConsistent = false;
  return { output: r.output, runtime: r.compiler, actConsistent };
}
