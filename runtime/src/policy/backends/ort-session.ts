/**
 * The session wrapper shared by onnxruntime-node and onnxruntime-web (same JS API). It imports
 * neither package: the backend passes the loaded module in.
 *
 * At batch 1 the input tensor and the feeds object are built once and reused (ORT reads the tensor's
 * Float32Array at run time), so a step costs one copy of the observation plus ORT's own overhead.
 */
import { EdgeDistillError } from '../../errors.js';
import type { BackendName } from '../types.js';
import type { BackendSession, SessionBinding } from '../backend.js';

/** The part of onnxruntime's JS API we use (structural, so no type import of either package). */
export interface OrtTensorLike {
  readonly data: unknown;
  readonly dims: readonly number[];
  readonly type: string;
}
export interface OrtSessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensorLike>, fetches?: readonly string[]): Promise<Record<string, OrtTensorLike>>;
  release(): Promise<void>;
}
export interface OrtModuleLike {
  readonly Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensorLike;
  readonly InferenceSession: {
    create(pathOrBytes: string | Uint8Array, options?: Record<string, unknown>): Promise<OrtSessionLike>;
  };
  readonly env: { readonly versions?: Record<string, string | undefined>; wasm?: Record<string, unknown> };
}

/** `import()` of a CommonJS package gives its exports either directly or as `default`. */
export function ortModule(ns: unknown): OrtModuleLike {
  const m = ns as Partial<OrtModuleLike> & { default?: OrtModuleLike };
  return (m.InferenceSession ? m : m.default) as OrtModuleLike;
}

export class OrtSession implements BackendSession {
  readonly facts = null;
  private binding: SessionBinding | null = null;
  private fetches: readonly string[] | undefined;
  /** The reused batch-1 input: its array, and feeds wrapping it. */
  private cachedInput: Float32Array | null = null;
  private cachedFeeds: Record<string, OrtTensorLike> | null = null;

  constructor(
    private readonly ort: OrtModuleLike,
    private readonly session: OrtSessionLike,
    private readonly backend: BackendName,
    private readonly file: string,
    readonly info: Readonly<Record<string, unknown>>,
  ) {}

  bind(binding: SessionBinding): void {
    if (!this.session.inputNames.includes(binding.inputName)) {
      throw new EdgeDistillError('BAD_MODEL', `onnxruntime sees no input '${binding.inputName}' (inputs: ${this.session.inputNames.join(', ')})`, {
        file: this.file,
      });
    }
    if (!this.session.outputNames.includes(binding.outputName)) {
      throw new EdgeDistillError('BAD_MODEL', `onnxruntime sees no output '${binding.outputName}' (outputs: ${this.session.outputNames.join(', ')})`, {
        file: this.file,
      });
    }
    this.binding = binding;
    // Ask only for the head's output when the model has others (e.g. a value head).
    this.fetches = this.session.outputNames.length > 1 ? [binding.outputName] : undefined;
  }

  async run(input: Float32Array, rows: number): Promise<Float32Array> {
    const b = this.binding;
    if (!b) throw new Error('OrtSession.run before bind');
    let feeds: Record<string, OrtTensorLike>;
    if (rows === 1 && input === this.cachedInput && this.cachedFeeds) feeds = this.cachedFeeds;
    else {
      feeds = { [b.inputName]: new this.ort.Tensor('float32', input, b.inputShape(rows)) };
      if (rows === 1 && this.cachedInput === null) {
        this.cachedInput = input;
        this.cachedFeeds = feeds;
      }
    }
    let result: Record<string, OrtTensorLike>;
    try {
      result = await this.session.run(feeds, this.fetches);
    } catch (e) {
      throw new EdgeDistillError('RUNTIME', `${this.backend} failed to run the model: ${(e as Error).message ?? String(e)}`, {
        file: this.file,
        cause: e,
      });
    }
    const out = result[b.outputName];
    const data = out?.data;
    if (data instanceof Float32Array) return data;
    if (ArrayBuffer.isView(data) && !(data instanceof DataView) && !(data instanceof BigInt64Array) && !(data instanceof BigUint64Array)) {
      return Float32Array.from(data as unknown as ArrayLike<number>);
    }
    throw new EdgeDistillError('UNSUPPORTED', `output '${b.outputName}' is ${out?.type ?? 'missing'}, expected float32`, {
      file: this.file,
      field: b.outputName,
    });
  }

  async dispose(): Promise<void> {
    this.cachedFeeds = null;
    this.cachedInput = null;
    await this.session.release();
  }
}

/** Session options for small policies: all graph optimisations, quiet logs, few threads. */
export function sessionOptions(executionProvider: 'cpu' | 'wasm', threads: number): Record<string, unknown> {
  return {
    executionProviders: [executionProvider],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // ORT warns about unused initializers and the like on stderr; errors still throw.
    logSeverityLevel: 3,
  };
}

/** Turns a session creation failure into a located error. */
export function openError(backend: BackendName, file: string, e: unknown): EdgeDistillError {
  if (e instanceof EdgeDistillError) return e;
  return new EdgeDistillError('BAD_MODEL', `${backend} could not load the model: ${(e as Error)?.message ?? String(e)}`, {
    file,
    cause: e,
  });
}
