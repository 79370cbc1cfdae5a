/**
 * The backend interface and registry. As in onnxruntime-web: backends are registered explicitly by
 * name with a loader that dynamic-imports their folder (no import side effects, so a device needs
 * only the package of the backend it uses), and each backend's init runs once per process.
 */
import type { ArtifactFormat, ArtifactVariant, BackendName } from './types.js';
import type { ModelIo, RawMetadata } from './metadata.js';

/** The file handed to a backend. */
export interface ModelArtifact {
  /** Absolute path. */
  readonly path: string;
  readonly format: ArtifactFormat;
  /** File contents (ONNX, TFLite); null for compiled modules, which the backend imports itself. */
  readonly bytes: Uint8Array | null;
}

export interface OpenOptions {
  /** Kernel threads; undefined means the backend's default (1). */
  readonly threads: number | undefined;
}

/** What the model file says about itself, as the loader or the backend read it. */
export interface ArtifactFacts {
  readonly io: ModelIo;
  /** Metadata carried inside the artifact, or null. */
  readonly embedded: RawMetadata | null;
  readonly variantHint: ArtifactVariant;
}

/** How to feed the model, decided by the loader from the resolved metadata. */
export interface SessionBinding {
  readonly inputName: string;
  readonly outputName: string;
  readonly obsDim: number;
  readonly outDim: number;
  /** Most rows one run takes: 1 for models exported with a fixed batch of 1. */
  readonly maxBatch: number;
  /** Input tensor shape for `rows` observations (e.g. `[rows, obsDim]`). */
  inputShape(rows: number): number[];
}

export interface BackendSession {
  /** Facts only the backend can read (a compiled module's exports); otherwise the loader reads the file. */
  readonly facts: ArtifactFacts | null;
  /** Called once, before the first run. */
  bind(binding: SessionBinding): void;
  /**
   * Runs `rows` observations packed row-major in `input`; resolves to `rows * outDim` outputs.
   * The backend may keep a tensor wrapping `input` between calls when it is the same array, so a
   * caller must not change `input` until the promise settles.
   */
  run(input: Float32Array, rows: number): Promise<Float32Array>;
  /** Synchronous run, for backends that have one (`js`). */
  runSync?(input: Float32Array, rows: number): Float32Array;
  dispose(): Promise<void>;
  /** Details for reports (library version, threads, wasm file, ...). */
  readonly info: Readonly<Record<string, unknown>>;
}

export interface Backend {
  readonly name: BackendName;
  /** Artifact formats this backend runs. */
  readonly formats: readonly ArtifactFormat[];
  /** Opens a model; throws (an `EdgeDistillError` when it can say why) if it cannot. */
  open(artifact: ModelArtifact, opts: OpenOptions): Promise<BackendSession>;
}

/** Loads a backend's code (a dynamic import) and initialises it; called at most once per process. */
export type BackendLoader = () => Promise<Backend>;

const builtinLoaders: Record<BackendName, BackendLoader> = {
  js: () => import('./backends/js.js').then((m) => m.createJsBackend()),
  'ort-node': () => import('./backends/ort-node.js').then((m) => m.createOrtNodeBackend()),
  'ort-web': () => import('./backends/ort-web.js').then((m) => m.createOrtWebBackend()),
  litert: () => import('../backends/litert-backend.js').then((m) => m.createLiteRtBackend()),
};

const loaders = new Map<BackendName, BackendLoader>(Object.entries(builtinLoaders) as [BackendName, BackendLoader][]);
const inits = new Map<BackendName, Promise<Backend>>();

export const BACKEND_NAMES: readonly BackendName[] = ['js', 'ort-node', 'ort-web', 'litert'];

/**
 * Replaces the loader of a backend (e.g. a custom build of onnxruntime, or a failing loader in
 * tests) and forgets its previous init. Returns the previous loader so it can be put back.
 */
export function registerBackend(name: BackendName, loader: BackendLoader): BackendLoader {
  if (!BACKEND_NAMES.includes(name)) {
    throw new RangeError(`unknown backend '${String(name)}'; expected one of ${BACKEND_NAMES.join(', ')}`);
  }
  const previous = loaders.get(name) ?? builtinLoaders[name];
  loaders.set(name, loader);
  inits.delete(name);
  return previous;
}

/** The built-in loader of a backend (to restore it after `registerBackend`). */
export function builtinBackendLoader(name: BackendName): BackendLoader {
  return builtinLoaders[name];
}

/**
 * Initialises a backend once per process (memoized, failures too: a backend whose package cannot
 * load here will not load on the next try either; `registerBackend` resets it).
 */
export function initBackend(name: BackendName): Promise<Backend> {
  let p = inits.get(name);
  if (!p) {
    const loader = loaders.get(name) ?? builtinLoaders[name];
    p = Promise.resolve().then(loader);
    inits.set(name, p);
  }
  return p;
}
