/**
 * Shared pieces of the export suites: the shipped CartPole teacher and a distilled 4-32-32-2
 * student (fixtures/cartpole-32x32/policy.json, written by `edgedistill distill --teacher
 * models/cartpole-v1/teacher.onnx --env CartPole-v1 --student 32,32`; fixtures/cartpole-32x32-int8 is
 * `edgedistill compress --policy` that `--teacher models/cartpole-v1/teacher.onnx --quantize int8`), teacher-visited golden
 * observations, seeded models of other shapes, and a direct onnxruntime runner.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { mlp, seededRandom, type MlpOptions } from '../../pipeline/src/ir/build.js';
import { readPolicyFile } from '../../pipeline/src/ir/serialize.js';
import type { PolicyModel } from '../../pipeline/src/ir/types.js';
import { policyActor, rolloutObservations } from '../../pipeline/src/export/golden.js';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const STUDENT_DIR = join(ROOT, 'test/export/fixtures/cartpole-32x32');
export const TEACHER_ONNX = join(ROOT, 'models/cartpole-v1/teacher.onnx');

export const cartpoleStudent = (): Promise<PolicyModel> => readPolicyFile(join(STUDENT_DIR, 'policy.json'));
export const cartpoleTeacher = (): Promise<PolicyModel> => readPolicyFile(join(ROOT, 'models/cartpole-v1/policy.json'));

/** `rows` CartPole observations visited by the shipped teacher (8 envs, seeded). */
export async function cartpoleGolden(rows: number, seed = 0): Promise<Float32Array> {
  return rolloutObservations('CartPole-v1', policyActor(await cartpoleTeacher()), rows, seed);
}

export function tmp(prefix = 'edgedistill-export-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function randomObs(n: number, d: number, seed: number, lo = -3, hi = 3): Float32Array {
  const r = seededRandom(seed);
  return new Float32Array(n * d).map(() => lo + (hi - lo) * r());
}

/** Model shapes beyond the CartPole student: tanh / sigmoid hidden layers, normalization with a
 * clip, q_values, continuous heads (tanh squash, clip only with an unbounded dimension). */
export function shapes(): { name: string; model: PolicyModel; obs: (n: number, seed: number) => Float32Array }[] {
  const make = (o: MlpOptions) => mlp(o);
  const plain = (d: number) => (n: number, seed: number) => randomObs(n, d, seed);
  return [
    {
      name: 'tanh hidden, q_values, normalized + clipped obs',
      model: make({
        obsDim: 6,
        hidden: [32, 32],
        activation: 'tanh',
        head: { kind: 'discrete', output: 'q_values', n: 3 },
        obsNorm: { mean: [10, -5, 0.5, 100, 0, 2], std: [2, 0.5, 0.1, 30, 1, 4], clip: 2.5 },
        init: { seed: 21 },
      }),
      obs: (n, seed) => {
        const mean = [10, -5, 0.5, 100, 0, 2];
        const std = [2, 0.5, 0.1, 30, 1, 4];
        const r = seededRandom(seed);
        return new Float32Array(n * 6).map((_, k) => mean[k % 6] + std[k % 6] * 4 * (r() * 2 - 1));
      },
    },
    {
      name: 'sigmoid hidden, 4 logits',
      model: make({ obsDim: 5, hidden: [16, 16], activation: 'sigmoid', head: { kind: 'discrete', n: 4 }, init: { seed: 22, outputScale: 3 } }),
      obs: plain(5),
    },
    {
      name: 'odd sizes 11-13-3 (loop remainders)',
      model: make({ obsDim: 11, hidden: [13], activation: 'relu', head: { kind: 'discrete', n: 3 }, init: { seed: 25 } }),
      obs: plain(11),
    },
    {
      name: 'continuous tanh squash',
      model: make({
        obsDim: 5,
        hidden: [64, 64],
        activation: 'tanh',
        head: { kind: 'continuous', squash: 'tanh', low: [-2, 0, -1], high: [2, 1, 3] },
        init: { seed: 23, outputScale: 2 },
      }),
      obs: plain(5),
    },
    {
      name: 'continuous clip, one unbounded dimension',
      model: make({
        obsDim: 4,
        hidden: [32],
        activation: 'relu',
        head: { kind: 'continuous', squash: 'none', low: [-0.5, -Infinity], high: [0.5, Infinity] },
        init: { seed: 24, outputScale: 3 },
      }),
      obs: plain(4),
    },
  ];
}

/** Runs ONNX bytes in onnxruntime-node (1 thread, all graph optimizations) on rows of float32. */
export async function runOrt(bytes: Uint8Array, obs: Float32Array, rows: number, obsDim: number, opts: ort.InferenceSession.SessionOptions = {}): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', logSeverityLevel: 3, ...opts });
  try {
    const out = await s.run({ obs: new ort.Tensor('float32', obs, [rows, obsDim]) });
    return (out[s.outputNames[0]].data as Float32Array).slice();
  } finally {
    await s.release();
  }
}

/** Positions where two float arrays differ (=== on values; NaN equals NaN). */
export function diffCount(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.max(a.length, b.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (!(a[i] === b[i] || (Number.isNaN(a[i]) && Number.isNaN(b[i])))) n++;
  return n;
}

export function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
