/**
 * onnxruntime-node, loaded lazily (it is a native addon: commands that never run a model should not
 * pay for loading it). Sessions use one intra-op thread: our models are tiny and the machines small.
 */
import { EdgeDistillError } from '@edgedistill/runtime/errors';

type Ort = typeof import('onnxruntime-node');
export type OrtSession = import('onnxruntime-node').InferenceSession;

let ortPromise: Promise<Ort> | null = null;

export function loadOrt(): Promise<Ort> {
  ortPromise ??= import('onnxruntime-node').catch((e: unknown) => {
    ortPromise = null;
    throw new EdgeDistillError('UNSUPPORTED', `onnxruntime-node is not available: ${(e as Error).message}`, { cause: e });
  });
  return ortPromise;
}

export async function createSession(bytes: Uint8Array, file: string): Promise<OrtSession> {
  const ort = await loadOrt();
  try {
    return await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      logSeverityLevel: 3,
      executionProviders: ['cpu'],
    });
  } catch (e) {
    throw new EdgeDistillError('BAD_MODEL', `onnxruntime cannot load this model: ${(e as Error).message}`, { file, cause: e });
  }
}

export interface RunResult {
  data: Float32Array;
  dims: number[];
  dtype: string;
}

/** Runs one float32 [batch, obsDim] input and fetches one output. */
export async function runOnce(
  session: OrtSession,
  file: string,
  input: string,
  output: string,
  obs: Float32Array,
  batch: number,
  obsDim: number,
): Promise<RunResult> {
  const ort = await loadOrt();
  let res;
  try {
    res = await session.run({ [input]: new ort.Tensor('float32', obs, [batch, obsDim]) }, [output]);
  } catch (e) {
    throw new EdgeDistillError('RUNTIME', `onnxruntime failed to run the model: ${(e as Error).message}`, { file, field: output, cause: e });
  }
  const t = res[output];
  const dims = t.dims.map(Number);
  if (t.type !== 'float32') return { data: Float32Array.from(t.data as ArrayLike<number>, Number), dims, dtype: t.type };
  return { data: (t.data as Float32Array).slice(), dims, dtype: t.type };
}
