/**
 * `edgedistill eval`: deterministic returns of a policy file (ONNX, opaque or importable; policy.json;
 * or a directory holding policy.json / student.onnx) on an environment. Episode i is reset with seed
 * S + i; all N episodes run in parallel over a vector env and each step is one batched policy call
 * (the scheme of distill's evaluateReturns, which this reuses, so scores compare across stages).
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { makeEnv, type EnvOptions } from '@edgedistill/runtime/envs';
import { checkEnvOptions, ENV_OPTION_FLAG } from '../train/env-options.js';
import { argmaxRow, forward } from '../ir/forward.js';
import { readPolicyFile } from '../ir/serialize.js';
import type { PolicyModel } from '../ir/types.js';
import { assertFitsEnv } from '../ir/fit.js';
import { loadTeacher, type OutputKind, type TeacherObsNorm } from '../onnx/import.js';
import { evaluateReturns } from '../distill/evaluate.js';

/** A policy file opened for batched inference. */
export interface OpenedPolicy {
  file: string;
  format: 'onnx' | 'policy.json';
  obsDim: number;
  outDim: number;
  outputKind: OutputKind;
  envId: string | null;
  model?: PolicyModel;
  importable: boolean;
  /** Raw outputs (logits / q_values / action) for a batch of raw observations. */
  run(obs: Float32Array, batch: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}

export interface OpenPolicyOptions {
  teacherOutput?: OutputKind;
  obsNorm?: TeacherObsNorm;
}

/** Which file a path means: the file itself, or policy.json then student.onnx inside a directory. */
export function resolvePolicyPath(path: string): string {
  if (!existsSync(path)) throw new EdgeDistillError('BAD_ARGUMENT', 'file not found', { file: path, field: '--policy' });
  if (!statSync(path).isDirectory()) return path;
  for (const name of ['policy.json', 'student.onnx']) {
    const p = join(path, name);
    if (existsSync(p)) return p;
  }
  throw new EdgeDistillError('BAD_ARGUMENT', 'the directory holds neither policy.json nor student.onnx', {
    file: path,
    field: '--policy',
    suggestion: 'point --policy at a .onnx or policy.json file',
  });
}

function isPolicyJson(path: string): boolean {
  return path.toLowerCase().endsWith('.json');
}

/** Opens an ONNX file (through onnxruntime) or a policy.json (pure JS forward pass). */
export async function openPolicy(path: string, opts: OpenPolicyOptions = {}): Promise<OpenedPolicy> {
  const file = resolvePolicyPath(path);
  if (isPolicyJson(file)) {
    const model = await readPolicyFile(file);
    const h = model.head;
    return {
      file,
      format: 'policy.json',
      obsDim: model.obsDim,
      outDim: h.kind === 'discrete' ? h.n : h.dim,
      outputKind: h.kind === 'discrete' ? h.output : 'action',
      envId: model.envId,
      model,
      importable: true,
      run: async (obs, batch) => forward(model, obs, batch),
      dispose: async () => undefined,
    };
  }
  const t = await loadTeacher(file, opts);
  return {
    file,
    format: 'onnx',
    obsDim: t.obsDim,
    outDim: t.outDim,
    outputKind: t.outputKind,
    envId: t.model?.envId ?? (t.metadata.env_id || null),
    ...(t.model ? { model: t.model } : {}),
    importable: t.importable,
    run: t.runBatch,
    dispose: t.dispose,
  };
}

export interface EvalOptions extends OpenPolicyOptions {
  /** Environment id; default: the env id stored in the policy. */
  env?: string;
  episodes: number;
  seed?: number;
  /** Environment options (a variant: gravity, pole length, ...), checked against the env's options. */
  envOptions?: EnvOptions;
  /** The flag or config field env option errors name (default --env-option). */
  envOptionField?: string;
  /** Called after each batched step with the number of finished episodes. */
  onProgress?: (done: number, total: number) => void;
}

export interface EvalResult {
  env: string;
  envOptions: EnvOptions | null;
  episodes: number;
  seed: number;
  return: { mean: number; std: number; min: number; max: number };
  /** Environment steps over all episodes. */
  steps: number;
  policy: { file: string; format: 'onnx' | 'policy.json'; outputKind: OutputKind; importable: boolean };
}

/** Evaluates a policy file; checks sizes against the env first (naming file and both sizes). */
export async function evaluatePolicyFile(path: string, opts: EvalOptions): Promise<EvalResult> {
  if (!Number.isInteger(opts.episodes) || opts.episodes < 1) {
    throw new EdgeDistillError('BAD_ARGUMENT', `--episodes must be a positive integer, got ${opts.episodes}`, { field: '--episodes' });
  }
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0) throw new EdgeDistillError('BAD_ARGUMENT', `--seed must be a non-negative integer, got ${seed}`, { field: '--seed' });
  const policy = await openPolicy(path, opts);
  try {
    const envId = opts.env ?? policy.envId;
    if (!envId) {
      throw new EdgeDistillError('BAD_ARGUMENT', 'the policy does not say which environment it is for', {
        file: policy.file,
        field: '--env',
        suggestion: 'pass --env, e.g. --env CartPole-v1',
      });
    }
    makeEnv(envId); // UNKNOWN_ENV with a suggestion first
    checkEnvOptions(envId, opts.envOptions, opts.envOptionField ?? ENV_OPTION_FLAG);
    const env = makeEnv(envId, opts.envOptions);
    const space = env.actionSpace;
    assertFitsEnv(
      { file: policy.file, obsDim: policy.obsDim, outDim: policy.outDim, outputKind: policy.outputKind },
      { id: envId, observationSpace: env.observationSpace, actionSpace: space.kind === 'discrete' ? space : { kind: 'box', shape: space.shape } },
    );
    let steps = 0;
    const n = opts.episodes;
    const res = await evaluateReturns(
      envId,
      async (obs, m) => {
        steps += m;
        opts.onProgress?.(n - m, n);
        const y = await policy.run(obs, m);
        if (space.kind === 'discrete') return Int32Array.from({ length: m }, (_, k) => argmaxRow(y, policy.outDim, k));
        // Continuous: clip to the action space as SB3's predict() does (ONNX exports leave it out).
        const d = policy.outDim;
        for (let k = 0; k < y.length; k++) {
          const lo = space.low[k % d];
          const hi = space.high[k % d];
          y[k] = y[k] < lo ? lo : y[k] > hi ? hi : y[k];
        }
        return y;
      },
      n,
      seed,
      opts.envOptions,
    );
    opts.onProgress?.(n, n);
    return {
      env: envId,
      envOptions: opts.envOptions ?? null,
      episodes: n,
      seed,
      return: { mean: res.mean, std: res.std, min: res.min, max: res.max },
      steps,
      policy: { file: policy.file, format: policy.format, outputKind: policy.outputKind, importable: policy.importable },
    };
  } finally {
    await policy.dispose();
  }
}
