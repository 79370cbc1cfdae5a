/**
 * Test models for the runtime's policy loading: real ONNX files from the pipeline's exporter,
 * hand-built ONNX graphs (a user's plain file, a graph that outputs NaN), and compiled JS modules
 * generated from an IR model (a stand-in for the pipeline's code generator, test-only).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mlp, type PolicyModel } from '../../pipeline/src/ir/index.js';
import { onnx } from '../../pipeline/src/onnx/proto.js';
import { policyToOnnx, type OnnxExportOptions } from '../../pipeline/src/onnx/write.js';

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'edgedistill-runtime-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The 4-64-64-2 CartPole MLP (relu). */
export function cartpoleModel(seed = 1): PolicyModel {
  return mlp({
    obsDim: 4,
    hidden: [64, 64],
    activation: 'relu',
    head: { kind: 'discrete', output: 'logits', n: 2 },
    init: { seed },
    envId: 'CartPole-v1',
    card: { algorithm: 'test', seed },
  });
}

/** A Pendulum-like continuous policy: 3 -> 16 -> 1, tanh squash into [-2, 2]. */
export function pendulumModel(seed = 2, squash: 'tanh' | 'none' = 'tanh'): PolicyModel {
  return mlp({
    obsDim: 3,
    hidden: [16],
    activation: 'tanh',
    head: { kind: 'continuous', dim: 1, squash, low: [-2], high: [2] },
    init: { seed, outputScale: 4 },
    envId: 'Pendulum-v1',
  });
}

export const CARTPOLE_OBS_SPACE = {
  kind: 'box' as const,
  shape: [4],
  low: Float32Array.from([-4.8, -Infinity, -0.41887903, -Infinity]),
  high: Float32Array.from([4.8, Infinity, 0.41887903, Infinity]),
};

export function writeOnnxFile(dir: string, name: string, model: PolicyModel, opts: OnnxExportOptions = {}): string {
  const path = join(dir, name);
  writeFileSync(path, policyToOnnx(model, opts));
  return path;
}

/**
 * A user's plain ONNX of the same network: no metadata_props, input `input`, output renamed
 * (e.g. `y`), optionally with a fixed batch of 1.
 */
export function writePlainOnnx(
  dir: string,
  name: string,
  model: PolicyModel,
  opts: { outputName?: string; fixedBatch?: boolean } = {},
): string {
  const proto = onnx.ModelProto.decode(policyToOnnx(model));
  proto.metadataProps = [];
  const g = proto.graph!;
  const oldOut = g.output![0].name!;
  const newOut = opts.outputName ?? oldOut;
  for (const n of g.node!) {
    n.input = n.input!.map((i) => (i === 'obs' ? 'input' : i));
    n.output = n.output!.map((o) => (o === oldOut ? newOut : o));
  }
  g.input![0].name = 'input';
  g.output![0].name = newOut;
  if (opts.fixedBatch) {
    for (const vi of [g.input![0], g.output![0]]) {
      vi.type!.tensorType!.shape!.dim![0] = onnx.TensorShapeProto.Dimension.create({ dimValue: 1 });
    }
  }
  const path = join(dir, name);
  writeFileSync(path, onnx.ModelProto.encode(proto).finish());
  return path;
}

/** A graph whose outputs are always NaN: logits = Sqrt(-|obs| - 1), for obs [batch, 2]. */
export function writeNanOnnx(dir: string, name = 'nan.onnx'): string {
  const f = 1; // FLOAT
  const vi = (n: string) => ({
    name: n,
    type: { tensorType: { elemType: f, shape: { dim: [{ dimParam: 'batch' }, { dimValue: 2 }] } } },
  });
  const model = onnx.ModelProto.create({
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'test',
    graph: {
      name: 'nan',
      node: [
        { opType: 'Abs', input: ['obs'], output: ['a'] },
        { opType: 'Neg', input: ['a'], output: ['b'] },
        { opType: 'Sub', input: ['b', 'one'], output: ['c'] },
        { opType: 'Sqrt', input: ['c'], output: ['logits'] },
      ],
      initializer: [{ name: 'one', dataType: f, dims: [], rawData: new Uint8Array(Float32Array.of(1).buffer) }],
      input: [vi('obs')],
      output: [vi('logits')],
    },
  });
  const path = join(dir, name);
  writeFileSync(path, onnx.ModelProto.encode(model).finish());
  return path;
}

/** JS source with Infinity where JSON cannot say it. */
function literal(v: unknown): string {
  return JSON.stringify(v, (_k, x) => {
    if (ArrayBuffer.isView(x)) return Array.from(x as unknown as ArrayLike<number>);
    if (typeof x === 'number' && !Number.isFinite(x)) return x > 0 ? '__POS_INF__' : '__NEG_INF__';
    return x;
  })
    .replaceAll('"__POS_INF__"', 'Infinity')
    .replaceAll('"__NEG_INF__"', '-Infinity');
}

/**
 * A compiled module (the contract of runtime/src/policy/compiled-module.ts) for an IR model without
 * observation normalisation, computing in float32 as the IR's forward does.
 */
export function compiledModuleSource(
  model: PolicyModel,
  opts: { observationSpace?: { shape: number[]; low: ArrayLike<number>; high: ArrayLike<number> }; metadata?: Record<string, unknown> } = {},
): string {
  if (model.obsNorm) throw new Error('compiledModuleSource: obsNorm not supported in this test generator');
  const h = model.head;
  const outDim = h.kind === 'discrete' ? h.n : h.dim;
  const metadata = {
    format: 'edgedistill.compiled/1',
    variant: 'fp32',
    envId: model.envId,
    obsDim: model.obsDim,
    outDim,
    outputName: h.kind === 'discrete' ? h.output : 'action',
    observationSpace: opts.observationSpace ?? {
      shape: [model.obsDim],
      low: new Array(model.obsDim).fill(-Infinity),
      high: new Array(model.obsDim).fill(Infinity),
    },
    actionSpace:
      h.kind === 'discrete'
        ? { kind: 'discrete', n: h.n, start: 0 }
        : { kind: 'box', shape: [h.dim], low: Array.from(h.low), high: Array.from(h.high) },
    card: model.card,
    ...opts.metadata,
  };
  const layers = model.layers.map(
    (l) =>
      `{ inDim: ${l.inDim}, outDim: ${l.outDim}, act: ${JSON.stringify(l.activation)}, w: new Float32Array(${literal(l.weight)}), b: new Float32Array(${literal(l.bias)}) }`,
  );
  const post =
    h.kind === 'continuous'
      ? `const LOW = new Float32Array(${literal(h.low)}); const HIGH = new Float32Array(${literal(h.high)});
const SQUASH = ${JSON.stringify(h.squash)};
function post(m) {
  const out = new Float32Array(m.length);
  for (let i = 0; i < m.length; i++) {
    let v = m[i];
    if (SQUASH === 'tanh') v = f(f(f(Math.tanh(v)) * f((HIGH[i] - LOW[i]) / 2)) + f((HIGH[i] + LOW[i]) / 2));
    out[i] = v < LOW[i] ? LOW[i] : v > HIGH[i] ? HIGH[i] : v;
  }
  return out;
}`
      : 'function post(m) { return m; }';
  const act =
    h.kind === 'discrete'
      ? `export function act(obs) {
  const y = forward(obs);
  let best = 0;
  for (let i = 1; i < y.length; i++) if (y[i] > y[best]) best = i;
  return best;
}`
      : 'export function act(obs) { return forward(obs); }';
  return `// Generated for tests: a compiled edgedistill policy (no imports).
export const metadata = ${literal(metadata)};
const f = Math.fround;
const LAYERS = [
  ${layers.join(',\n  ')}
];
${post}
function activate(a, v) {
  if (a === 'relu') return v > 0 ? v : 0;
  if (a === 'tanh') return f(Math.tanh(v));
  if (a === 'sigmoid') return f(1 / (1 + Math.exp(-v)));
  return v;
}
export function forward(obs) {
  let x = Float32Array.from(obs);
  for (const L of LAYERS) {
    const n = L.inDim, m = L.outDim, w = L.w, b = L.b, a = L.act;
    const y = new Float32Array(m);
    for (let j = 0, o = 0; j < m; j++, o += n) {
      let s = 0;
      for (let k = 0; k < n; k++) s += x[k] * w[o + k];
      y[j] = activate(a, f(f(s) + b[j]));
    }
    x = y;
  }
  return post(x);
}
${act}
`;
}

/** Deterministic observations, `rows` x `dim`, in about [-scale, scale]. */
export function observations(rows: number, dim: number, scale = 1, seed = 7): Float32Array[] {
  const out: Float32Array[] = [];
  let s = seed;
  for (let r = 0; r < rows; r++) {
    const o = new Float32Array(dim);
    for (let i = 0; i < dim; i++) {
      s = (s * 1103515245 + 12345) % 2147483648;
      o[i] = ((s / 2147483648) * 2 - 1) * scale;
    }
    out.push(o);
  }
  return out;
}

export function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
