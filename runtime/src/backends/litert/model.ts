/**
 * Open a .tflite policy on LiteRT.js and run it, with the checks LiteRT itself does not make.
 *
 * LiteRT does not throw when a model fails to run: a node that fails to prepare (e.g. a TANH
 * fused into FULLY_CONNECTED) is only logged ("Node number 0 (FULLY_CONNECTED) failed to
 * prepare", "Failed to allocate tensors") and `run` hands back whatever was in the output buffer.
 * So every run is checked:
 * - LiteRT's captured log gets no ERROR line during the run;
 * - the output has the expected count and size and is all finite;
 * and at open time a self-test runs a probe twice (a failing model returns different garbage each
 * time, a working one is deterministic) and, when the file carries an expectation (our exporter
 * embeds one in the `edgedistill` metadata) or the caller passes one, compares against it.
 * Any failure is an EdgeDistillError('RUNTIME') naming the model file.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { EdgeDistillError } from '../../errors.js';
import { loadLiteRt, type LoadedLiteRt } from './load.js';
import { readTfliteFile } from './tflite-file.js';

export type LiteRtDType = 'float32' | 'int32' | 'uint8';

export interface TfliteTensorInfo {
  readonly name: string;
  readonly dtype: LiteRtDType;
  readonly shape: readonly number[];
}

/** A known input/output pair the loaded model must reproduce (|got - want| <= tolerance). */
export interface TfliteExpectation {
  readonly obs: Float32Array;
  readonly output: Float32Array;
  readonly tolerance: number;
}

export interface OpenTfliteOptions {
  /** Label used in errors when bytes are given (default `<memory>.tflite`). */
  readonly name?: string;
  /** Run the load-time self-test (default true). */
  readonly selfTest?: boolean;
  /** Expectation for the self-test; overrides the one embedded in the file's metadata. */
  readonly expect?: TfliteExpectation;
}

export interface TfliteModel {
  /** The model file (absolute path) or the label given for bytes. */
  readonly file: string;
  readonly inputs: readonly TfliteTensorInfo[];
  readonly outputs: readonly TfliteTensorInfo[];
  /** Fixed batch of the `obs` input (LiteRT.js 2.x cannot resize inputs). */
  readonly batch: number;
  readonly obsDim: number;
  readonly outDim: number;
  /** The file's `edgedistill` metadata (JSON), or null when it has none. */
  readonly metadata: Record<string, unknown> | null;
  /** Which wasm build of LiteRT runs it (for reports). */
  readonly wasmFile: string;
  /**
   * Runs `batch` observations (row-major batch * obsDim float32); returns batch * outDim float32.
   * Batches larger than the model's fixed batch run in chunks.
   */
  run(obs: Float32Array, batch?: number): Promise<Float32Array>;
  /** Frees the compiled model. Idempotent; `run` afterwards throws RUNTIME. */
  dispose(): void;
}

export const METADATA_NAME = 'edgedistill';

type CompiledModel = Awaited<ReturnType<LoadedLiteRt['liteRt']['loadAndCompile']>>;

/**
 * LiteRT runs one model at a time on one wasm thread; runs are queued so the log lines read after
 * a run belong to that run.
 */
let queue: Promise<unknown> = Promise.resolve();
function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  const next = queue.then(fn, fn);
  queue = next.catch(() => undefined);
  return next;
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function parseMetadata(raw: Uint8Array | undefined, file: string): Record<string, unknown> | null {
  if (!raw) return null;
  try {
    const v: unknown = JSON.parse(new TextDecoder().decode(raw));
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new EdgeDistillError('BAD_MODEL', `metadata entry "${METADATA_NAME}" is not valid JSON: ${String(e)}`, {
      file,
      field: `metadata.${METADATA_NAME}`,
    });
  }
}

const num = (v: unknown): number => (typeof v === 'number' ? v : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : NaN);

function expectationFromMetadata(meta: Record<string, unknown> | null, file: string): TfliteExpectation | undefined {
  const st = meta?.selfTest as { obs?: unknown; output?: unknown; tolerance?: unknown } | undefined;
  if (st === undefined) return undefined;
  if (!st || !Array.isArray(st.obs) || !Array.isArray(st.output) || typeof st.tolerance !== 'number') {
    throw new EdgeDistillError('BAD_MODEL', 'selfTest in the metadata must hold obs[], output[] and tolerance', {
      file,
      field: `metadata.${METADATA_NAME}.selfTest`,
    });
  }
  return { obs: Float32Array.from(st.obs, num), output: Float32Array.from(st.output, num), tolerance: st.tolerance };
}

/** Loads and compiles a .tflite (path or bytes) on LiteRT.js and self-tests it. */
export async function openTfliteModel(bytesOrPath: Uint8Array | string, opts: OpenTfliteOptions = {}): Promise<TfliteModel> {
  let bytes: Uint8Array;
  let file: string;
  if (typeof bytesOrPath === 'string') {
    file = resolve(bytesOrPath);
    try {
      bytes = new Uint8Array(await readFile(file));
    } catch (e) {
      throw new EdgeDistillError('IO', `cannot read model file: ${(e as Error).message}`, { file, cause: e });
    }
  } else if (bytesOrPath instanceof Uint8Array) {
    bytes = bytesOrPath;
    file = opts.name ?? '<memory>.tflite';
  } else {
    throw new EdgeDistillError('BAD_ARGUMENT', 'openTfliteModel takes a file path or the model bytes (Uint8Array)', {
      field: 'bytesOrPath',
    });
  }

  const info = readTfliteFile(bytes, file);
  const metadata = parseMetadata(info.metadata[METADATA_NAME], file);
  const expectation = opts.expect ?? expectationFromMetadata(metadata, file);

  const rt = await loadLiteRt();
  const compiled = await exclusive(async () => {
    const mark = rt.log.count;
    try {
      return await rt.liteRt.loadAndCompile(bytes, { accelerator: 'wasm' });
    } catch (e) {
      const why = rt.log.errorsSince(mark);
      throw new EdgeDistillError('BAD_MODEL', `LiteRT cannot load this model: ${(e as Error).message ?? String(e)}`, {
        file,
        cause: e,
        details: why.map((text) => ({ file, text })),
        suggestion: 'the file may be truncated, corrupted or use ops LiteRT.js lacks; export it again',
      });
    }
  });

  let disposed = false;
  const dispose = () => {
    if (!disposed) {
      disposed = true;
      compiled.delete();
    }
  };
  try {
    const model = describe(compiled, file, metadata, rt);
    const m = bind(model, compiled, rt, () => disposed, dispose);
    if (opts.selfTest !== false) await selfTest(m, expectation);
    return m;
  } catch (e) {
    dispose();
    throw e;
  }
}

type Described = Omit<TfliteModel, 'run' | 'dispose'>;

function describe(compiled: CompiledModel, file: string, metadata: Record<string, unknown> | null, rt: LoadedLiteRt): Described {
  const toInfo = (d: { name: string; dtype: string; shape: Int32Array }): TfliteTensorInfo => ({
    name: d.name,
    dtype: d.dtype as LiteRtDType,
    shape: Array.from(d.shape),
  });
  const inputs = compiled.getInputDetails().map(toInfo);
  const outputs = compiled.getOutputDetails().map(toInfo);
  const unsupported = (text: string) =>
    new EdgeDistillError('UNSUPPORTED', text, {
      file,
      suggestion: 'policies take one float32 observation tensor [batch, obsDim] and give one float32 output',
    });
  if (inputs.length !== 1) throw unsupported(`model has ${inputs.length} inputs, expected 1`);
  if (outputs.length !== 1) throw unsupported(`model has ${outputs.length} outputs, expected 1`);
  const [inp] = inputs;
  const [out] = outputs;
  if (inp.dtype !== 'float32' || out.dtype !== 'float32') {
    throw unsupported(`input ${inp.name} is ${inp.dtype} and output ${out.name} is ${out.dtype}; both must be float32`);
  }
  if (inp.shape.length !== 2 || out.shape.length !== 2 || inp.shape.some((d) => d < 1) || out.shape.some((d) => d < 1)) {
    throw unsupported(`input ${inp.name} [${inp.shape}] and output ${out.name} [${out.shape}] must be fixed [batch, n]`);
  }
  if (inp.shape[0] !== out.shape[0]) throw unsupported(`input batch ${inp.shape[0]} differs from output batch ${out.shape[0]}`);
  return {
    file,
    inputs,
    outputs,
    batch: inp.shape[0],
    obsDim: inp.shape[1],
    outDim: out.shape[1],
    metadata,
    wasmFile: rt.wasmFile,
  };
}

function bind(d: Described, compiled: CompiledModel, rt: LoadedLiteRt, isDisposed: () => boolean, dispose: () => void): TfliteModel {
  const { Tensor } = rt.core;
  const inShape = [d.batch, d.obsDim];
  const runtimeError = (text: string, details: string[] = []) =>
    new EdgeDistillError('RUNTIME', `LiteRT failed to run the model: ${text}`, {
      file: d.file,
      details: details.map((t) => ({ file: d.file, text: t })),
      suggestion: 'LiteRT returns garbage instead of throwing; the model likely uses an op or option it cannot run',
    });

  /** One call of the compiled model on exactly d.batch rows. */
  async function runChunk(chunk: Float32Array): Promise<Float32Array> {
    const mark = rt.log.count;
    const input = new Tensor(chunk, inShape);
    let outputs: { toTypedArray(): unknown; delete(): void; type: { layout: { dimensions: ArrayLike<number> } } }[] = [];
    try {
      outputs = (await compiled.run([input])) as typeof outputs;
    } catch (e) {
      throw runtimeError(String((e as Error).message ?? e), rt.log.errorsSince(mark));
    } finally {
      input.delete();
    }
    try {
      const errors = rt.log.errorsSince(mark);
      if (errors.length > 0) throw runtimeError(errors[errors.length - 1], errors);
      if (outputs.length !== 1) throw runtimeError(`expected 1 output tensor, got ${outputs.length}`);
      const data = outputs[0].toTypedArray();
      if (!(data instanceof Float32Array)) throw runtimeError('output is not float32');
      if (data.length !== d.batch * d.outDim) {
        throw runtimeError(`output has ${data.length} values, expected ${d.batch} x ${d.outDim}`);
      }
      const bad = data.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw runtimeError(`output ${d.outputs[0].name}[${bad}] is ${data[bad]}`);
      return data.slice();
    } finally {
      for (const o of outputs) o.delete();
    }
  }

  async function run(obs: Float32Array, batch = 1): Promise<Float32Array> {
    if (isDisposed()) throw new EdgeDistillError('RUNTIME', 'model was disposed', { file: d.file });
    if (!Number.isInteger(batch) || batch < 1) {
      throw new EdgeDistillError('BAD_ARGUMENT', `batch must be a positive integer, got ${batch}`, { field: 'batch' });
    }
    if (!(obs instanceof Float32Array) || obs.length !== batch * d.obsDim) {
      throw new EdgeDistillError('BAD_OBSERVATION', `expected ${batch} x ${d.obsDim} float32 observation values, got ${obs?.length}`, {
        file: d.file,
        field: d.inputs[0].name,
      });
    }
    const bad = obs.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new EdgeDistillError('BAD_OBSERVATION', `observation ${Math.floor(bad / d.obsDim)} has ${obs[bad]} at index ${bad % d.obsDim}`, {
        file: d.file,
        field: d.inputs[0].name,
      });
    }
    return exclusive(async () => {
      const out = new Float32Array(batch * d.outDim);
      const rows = d.batch;
      for (let r = 0; r < batch; r += rows) {
        const take = Math.min(rows, batch - r);
        let chunk = obs.subarray(r * d.obsDim, (r + take) * d.obsDim);
        if (take < rows) {
          // Pad the last chunk of a fixed-batch model with zeros; their outputs are dropped.
          const padded = new Float32Array(rows * d.obsDim);
          padded.set(chunk);
          chunk = padded;
        }
        const y = await runChunk(chunk);
        out.set(y.subarray(0, take * d.outDim), r * d.outDim);
      }
      return out;
    });
  }

  return { ...d, run, dispose };
}

/** Probe twice (determinism) and, when there is one, compare with the expectation. */
async function selfTest(m: TfliteModel, expect: TfliteExpectation | undefined): Promise<void> {
  const fail = (text: string) =>
    new EdgeDistillError('RUNTIME', `LiteRT self-test failed: ${text}`, {
      file: m.file,
      suggestion: 'LiteRT returned wrong values without an error; re-export the model or use another backend',
    });
  let probe: Float32Array;
  if (expect) {
    if (expect.obs.length % m.obsDim !== 0 || expect.output.length !== (expect.obs.length / m.obsDim) * m.outDim) {
      throw new EdgeDistillError('BAD_MODEL', `self-test expectation has ${expect.obs.length} obs and ${expect.output.length} output values, which do not fit [${m.obsDim}] -> [${m.outDim}]`, {
        file: m.file,
        field: `metadata.${METADATA_NAME}.selfTest`,
      });
    }
    probe = expect.obs;
  } else {
    probe = new Float32Array(m.obsDim).map((_, i) => Math.sin(i + 1));
  }
  const rows = probe.length / m.obsDim;
  const a = await m.run(probe, rows);
  const b = await m.run(probe, rows);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) throw fail(`two runs on the same input differ at output ${i} (${a[i]} vs ${b[i]})`);
  }
  if (expect) {
    let worst = 0;
    let at = 0;
    for (let i = 0; i < a.length; i++) {
      const diff = Math.abs(a[i] - expect.output[i]);
      if (!(diff <= worst)) {
        worst = diff;
        at = i;
      }
    }
    if (!(worst <= expect.tolerance)) {
      throw fail(`output ${at} is ${a[at]}, expected ${expect.output[at]} (|diff| ${worst} > tolerance ${expect.tolerance})`);
    }
  }
}
