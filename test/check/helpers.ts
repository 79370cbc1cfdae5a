/**
 * Bundles made by hand for the on-device check: a teacher ONNX from the pipeline's exporter,
 * compiled JS students (fp32 from test/runtime's generator, int8 from the pipeline's int8 plan,
 * generated here until pipeline/src/export/js exists), a golden set recorded with the pipeline's
 * reference forward passes (the "desktop"), sha256s and manifest.json.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { act as irAct, forward as irForward, mlp, seededRandom, type PolicyModel } from '../../pipeline/src/ir/index.js';
import { policyToOnnx } from '../../pipeline/src/onnx/write.js';
import { forwardInt8, planInt8, quantizePolicy, type QuantizedPolicy } from '../../pipeline/src/quant/index.js';
import { makeEnv } from '../../runtime/src/envs/index.js';
import { BUNDLE_FORMAT, type BackendId, type BundleManifest, type Budgets } from '../../runtime/src/bundle/manifest.js';
import { compiledModuleSource } from '../runtime/helpers.js';

export const repo = resolve(import.meta.dirname, '../..');
export const deviceBin = join(repo, 'runtime/bin/edgedistill-device.js');

export function tempDir(prefix = 'edgedistill-check-'): { dir: string; cleanup: () => void } {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A CartPole controller as a relu MLP: z = scale * (c · obs); hidden unit 0 = relu(z), unit 1 =
 * relu(-z), carried through every hidden layer; logits = [-(u0 - u1), u0 - u1] = [-z, z]. The
 * other hidden units keep their seeded init and leak into the decision with weight `noise`, so
 * the network is a real dense MLP whose action is "push towards where the pole falls" up to noise.
 */
export function controllerMlp(opts: { hidden: number[]; coef: number[]; scale?: number; noise?: number; seed?: number }): PolicyModel {
  const scale = opts.scale ?? 4;
  const noise = opts.noise ?? 0.01;
  const model = mlp({
    obsDim: 4,
    hidden: opts.hidden,
    activation: 'relu',
    head: { kind: 'discrete', output: 'logits', n: 2 },
    init: { seed: opts.seed ?? 1 },
    envId: 'CartPole-v1',
    card: { algorithm: 'hand-built controller', coef: opts.coef, hidden: opts.hidden },
  });
  const rnd = seededRandom((opts.seed ?? 1) + 1000);
  const jitter = (): number => (rnd() * 2 - 1) * noise;
  const L = model.layers;
  const first = L[0];
  for (let k = 0; k < 4; k++) {
    first.weight[k] = scale * opts.coef[k];
    first.weight[4 + k] = -scale * opts.coef[k];
  }
  first.bias[0] = 0;
  first.bias[1] = 0;
  for (let l = 1; l < L.length; l++) {
    const layer = L[l];
    const last = l === L.length - 1;
    for (let j = 0; j < layer.outDim; j++) {
      for (let k = 0; k < layer.inDim; k++) {
        const at = j * layer.inDim + k;
        if (last) layer.weight[at] = k < 2 ? ((j === 1) === (k === 0) ? 1 : -1) : jitter();
        else if (j < 2) layer.weight[at] = k < 2 ? (j === k ? 1 : 0) : jitter();
        else if (k < 2) layer.weight[at] = 0; // the other units stay off the controller's path
      }
      if (j < 2 || last) layer.bias[j] = 0;
    }
  }
  return model;
}

/** The teacher: 4-64-64-2 relu, full-state controller (solves CartPole-v1 from every seed tried). */
export function teacherModel(): PolicyModel {
  return controllerMlp({ hidden: [64, 64], coef: [0.1, 0.5, 1, 0.5], seed: 1 });
}

/** The student: 4-16-16-2 relu, a simpler controller (pole angle and its rate only). */
export function studentModel(): PolicyModel {
  return controllerMlp({ hidden: [16, 16], coef: [0, 0, 1, 1], seed: 2, noise: 0.02 });
}

/** Observations the teacher visits in CartPole-v1 (seeds from 1000), every `stride`-th step. */
export function teacherVisited(model: PolicyModel, count: number, stride = 7): number[][] {
  const env = makeEnv('CartPole-v1');
  const rows: number[][] = [];
  let step = 0;
  for (let seed = 1000; rows.length < count; seed++) {
    let { obs } = env.reset({ seed });
    for (let t = 0; t < 200 && rows.length < count; t++) {
      if (step++ % stride === 0) rows.push(Array.from(obs));
      const r = env.step(irAct(model, obs) as number);
      if (r.terminated || r.truncated) break;
      obs = r.obs;
    }
  }
  return rows;
}

/** JS source with typed-array literals. */
const list = (a: ArrayLike<number>): string => `[${Array.from(a).join(',')}]`;

/**
 * An int8 compiled module (runtime/src/policy/compiled-module.ts contract) computing the
 * pipeline's int8 plan under the float32 requantization rule, as forwardInt8 does: QUANTIZE by
 * float32 reciprocal with round-half-even, int32 accumulation, float32 multiplier per channel,
 * fused ReLU as the clamp minimum, DEQUANTIZE at the end. Discrete heads, no obs normalization.
 */
export function int8ModuleSource(qp: QuantizedPolicy): string {
  const model = qp.model;
  if (model.obsNorm || model.head.kind !== 'discrete') throw new Error('int8ModuleSource: discrete heads without obsNorm only');
  if (qp.layers.some((l) => l.activation === 'tanh' || l.activation === 'sigmoid')) throw new Error('int8ModuleSource: relu/none only');
  const plan = planInt8(qp);
  const layers = plan.layers.map(
    (p) =>
      `{ n: ${p.inDim}, m: ${p.outDim}, w: new Int8Array(${list(p.weight)}), b: new Int32Array(${list(p.bias)}), zp: ${p.inZeroPoint}, mul: new Float32Array(${list(p.multipliers)}), ozp: ${p.outZeroPoint}, lo: ${p.actMin}, hi: ${p.actMax} }`,
  );
  const metadata = {
    format: 'edgedistill.compiled/1',
    variant: 'int8',
    envId: model.envId,
    obsDim: model.obsDim,
    outDim: model.head.n,
    outputName: model.head.output,
    observationSpace: { shape: [model.obsDim], low: new Array(model.obsDim).fill('-Infinity'), high: new Array(model.obsDim).fill('Infinity') },
    actionSpace: { kind: 'discrete', n: model.head.n, start: 0 },
    card: { ...model.card, quantization: 'int8 per-channel (test generator)' },
  };
  const md = JSON.stringify(metadata).replaceAll('"-Infinity"', '-Infinity').replaceAll('"Infinity"', 'Infinity');
  return `// Generated for tests: an int8 compiled edgedistill policy (no imports).
export const metadata = ${md};
const f = Math.fround;
const IN_INV = ${plan.inputInvScale};
const IN_ZP = ${plan.input.zeroPoint};
const OUT_SCALE = ${plan.output.scale};
const OUT_ZP = ${plan.output.zeroPoint};
const LAYERS = [
  ${layers.join(',\n  ')}
];
function rhe(x) {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
export function forward(obs) {
  let x = new Int8Array(${model.obsDim});
  for (let i = 0; i < x.length; i++) {
    const q = rhe(f(f(obs[i]) * IN_INV)) + IN_ZP;
    x[i] = q < -128 ? -128 : q > 127 ? 127 : q;
  }
  for (const L of LAYERS) {
    const y = new Int8Array(L.m);
    for (let c = 0, o = 0; c < L.m; c++, o += L.n) {
      let acc = L.b[c];
      for (let k = 0; k < L.n; k++) acc += (x[k] - L.zp) * L.w[o + k];
      const q = rhe(f(f(acc) * L.mul[c])) + L.ozp;
      y[c] = q < L.lo ? L.lo : q > L.hi ? L.hi : q;
    }
    x = y;
  }
  const out = new Float32Array(x.length);
  for (let c = 0; c < x.length; c++) out[c] = f((x[c] - OUT_ZP) * OUT_SCALE);
  return out;
}
export function act(obs) {
  const y = forward(obs);
  let best = 0;
  for (let i = 1; i < y.length; i++) if (y[i] > y[best]) best = i;
  return best;
}
`;
}

export interface ArtifactSpec {
  readonly name: string;
  readonly role: 'teacher' | 'student';
  readonly file: string;
  readonly format: string;
  readonly backend: BackendId;
  /** File contents. */
  readonly bytes: Uint8Array | string;
  /** What the desktop recorded for each golden observation (raw outputs). */
  readonly desktop: (obs: Float32Array) => ArrayLike<number>;
}

export const DEFAULT_BUDGETS: Budgets = { controlPeriodUs: 20_000, maxRssMiB: 4096, minAgreement: 0.8, minReturnRetention: 0.5 };

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Writes a bundle into `dir`: the artifacts, golden.json, manifest.json. Returns the manifest. */
export function writeBundle(
  dir: string,
  spec: { artifacts: ArtifactSpec[]; goldenObs: number[][]; budgets?: Partial<Budgets>; checkEpisodes?: number; extraFiles?: Record<string, string> },
): BundleManifest {
  mkdirSync(dir, { recursive: true });
  const files: Record<string, { sha256: string; bytes: number }> = {};
  const put = (rel: string, data: Uint8Array | string): void => {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), bytes);
    files[rel] = { sha256: sha256(bytes), bytes: bytes.length };
  };
  const outputs: Record<string, number[][]> = {};
  for (const a of spec.artifacts) {
    put(a.file, a.bytes);
    outputs[a.name] = spec.goldenObs.map((o) => Array.from(a.desktop(Float32Array.from(o))));
  }
  put('golden.json', JSON.stringify({ obsDim: 4, obs: spec.goldenObs, outputs }));
  for (const [rel, text] of Object.entries(spec.extraFiles ?? {})) put(rel, text);
  const sorted = Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1)));
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    device: 'test-device',
    profile: { id: 'test-device', arch: process.arch, controlHz: 50 },
    budgets: { ...DEFAULT_BUDGETS, ...spec.budgets },
    envId: 'CartPole-v1',
    card: { note: 'hand-built test bundle' },
    artifacts: spec.artifacts.map((a) => ({ name: a.name, role: a.role, path: a.file, format: a.format, backend: a.backend, goldenKey: a.name })),
    golden: 'golden.json',
    files: sorted,
    checkEpisodes: spec.checkEpisodes ?? 5,
  };
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** The standard test bundle: teacher ONNX (ort-node), fp32 and int8 JS students. */
export function standardArtifacts(goldenObs: number[][]): ArtifactSpec[] {
  const teacher = teacherModel();
  const student = studentModel();
  const calib = Float32Array.from(goldenObs.flat());
  const qp = quantizePolicy(student, calib);
  return [
    { name: 'teacher', role: 'teacher', file: 'teacher.onnx', format: 'onnx', backend: 'ort-node', bytes: policyToOnnx(teacher), desktop: (o) => irForward(teacher, o, 1) },
    { name: 'student-js-fp32', role: 'student', file: 'student.fp32.mjs', format: 'js', backend: 'js', bytes: compiledModuleSource(student), desktop: (o) => irForward(student, o, 1) },
    { name: 'student-js-int8', role: 'student', file: 'student.int8.mjs', format: 'js-int8', backend: 'js', bytes: int8ModuleSource(qp), desktop: (o) => forwardInt8(qp, o, 1) },
  ];
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program without a shell; never throws on a non-zero exit. */
export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], timeout: opts.timeoutMs ?? 120_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

export function readJson<T = Record<string, unknown>>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}
