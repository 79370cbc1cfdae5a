/**
 * Public entry of the trainers: `trainTeacher` picks the backend, merges the hyper-parameters
 * (algorithm defaults < per-env preset < overrides), trains, evaluates the policy deterministically
 * and writes OUT/policy.json, OUT/teacher.onnx and OUT/card.json (each atomically).
 */
import { join } from 'node:path';
import { makeEnv } from '@edgedistill/runtime/envs';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { paramCount } from '../ir/forward.js';
import { policyToText } from '../ir/serialize.js';
import type { PolicyModel } from '../ir/types.js';
import { type BackendInfo, type BackendName, initBackend } from './backend.js';
import { type DqnHyper, trainDqn } from './dqn.js';
import { type ReturnStats, evaluatePolicy } from './evaluate.js';
import { ALGOS, type Algo, hyperFor } from './presets.js';
import { type PpoHyper, trainPpo } from './ppo.js';
import { type RunOptions, type TrainOutput, writeFileAtomic } from './run.js';
import { type SacHyper, trainSac } from './sac.js';

export { ALGOS, type Algo } from './presets.js';
export { initBackend, type BackendInfo } from './backend.js';
export { evaluatePolicy, type ReturnStats } from './evaluate.js';

export interface TrainTeacherOptions {
  envId: string;
  algo: Algo;
  seed?: number;
  /** Overrides the preset's total env steps. */
  steps?: number;
  hidden?: number[];
  /** Output directory; null: keep everything in memory. */
  outDir?: string | null;
  /** Hyper-parameter overrides by name (values already parsed). */
  hp?: Record<string, unknown>;
  /** Deterministic evaluation episodes after training (0: skip). */
  evalEpisodes?: number;
  checkpointEvery?: number;
  progress?: boolean;
  log?: ((line: string) => void) | null;
  logEverySec?: number;
  backend?: BackendName;
  /** Model selection: evaluate every n env steps on `selectEpisodes` held-out seeds, ship the best (0: off). */
  evalEvery?: number;
  selectEpisodes?: number;
  /** Write teacher.onnx (needs the ONNX writer). */
  onnx?: boolean;
}

export interface TrainTeacherResult {
  model: PolicyModel;
  card: Record<string, unknown>;
  training: TrainOutput;
  evaluation: ReturnStats | null;
  files: string[];
}

/** Parses "key=value" overrides against the merged hyper-parameters (numbers, booleans, lists, strings). */
export function parseHyperOverrides(algo: Algo, envId: string, pairs: readonly string[]): Record<string, unknown> {
  const base = hyperFor(algo, envId) as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    const key = eq > 0 ? p.slice(0, eq) : '';
    const raw = eq > 0 ? p.slice(eq + 1) : '';
    if (!key || !(key in base)) {
      throw new EdgeDistillError('BAD_ARGUMENT', `unknown hyper-parameter "${key || p}" for ${algo}`, {
        field: '--hp',
        suggestion: `known: ${Object.keys(base).join(', ')}`,
      });
    }
    const cur = base[key];
    let v: unknown;
    if (typeof cur === 'boolean') v = raw === 'true' ? true : raw === 'false' ? false : undefined;
    else if (Array.isArray(cur)) v = raw.split(',').map(Number);
    else if (typeof cur === 'number' || cur === null) v = raw === 'null' ? null : Number(raw);
    else v = raw;
    if (v === undefined || (typeof v === 'number' && !Number.isFinite(v)) || (Array.isArray(v) && v.some((x) => !Number.isFinite(x)))) {
      throw new EdgeDistillError('BAD_ARGUMENT', `bad value "${raw}" for hyper-parameter ${key} (now ${JSON.stringify(cur)})`, { field: `--hp ${key}` });
    }
    out[key] = v;
  }
  return out;
}

export async function trainTeacher(o: TrainTeacherOptions): Promise<TrainTeacherResult> {
  if (!ALGOS.includes(o.algo)) {
    throw new EdgeDistillError('BAD_ARGUMENT', `unknown algorithm "${o.algo}"`, { field: '--algo', suggestion: `one of ${ALGOS.join(', ')}` });
  }
  const probe = makeEnv(o.envId); // UNKNOWN_ENV / BAD_ARGUMENT with a suggestion when wrong
  if (o.algo === 'dqn' && probe.actionSpace.kind !== 'discrete') {
    throw new EdgeDistillError('BAD_ARGUMENT', `dqn needs discrete actions; ${o.envId} has a box action space (use sac or ppo)`, { field: '--algo' });
  }
  if (o.algo === 'sac' && probe.actionSpace.kind !== 'box') {
    throw new EdgeDistillError('BAD_ARGUMENT', `sac needs continuous actions; ${o.envId} is discrete (use ppo or dqn)`, { field: '--algo' });
  }
  const backend: BackendInfo = await initBackend(o.backend);
  const seed = o.seed ?? 1;
  const hp = { ...hyperFor(o.algo, o.envId), ...(o.hp ?? {}) } as Record<string, unknown>;
  if (o.steps !== undefined) hp.totalSteps = o.steps;
  const run: RunOptions = {
    envId: o.envId,
    seed,
    hidden: o.hidden ?? [256, 256],
    outDir: o.outDir ?? null,
    checkpointEvery: o.checkpointEvery ?? 10_000,
    progress: o.progress ?? false,
    log: o.log ?? null,
    logEverySec: o.logEverySec ?? 30,
    backend,
    evalEvery: o.evalEvery ?? 0,
    selectEpisodes: o.selectEpisodes ?? 20,
  };
  const training =
    o.algo === 'ppo'
      ? await trainPpo(run, hp as unknown as PpoHyper)
      : o.algo === 'dqn'
        ? await trainDqn(run, hp as unknown as DqnHyper)
        : await trainSac(run, hp as unknown as SacHyper);

  const evalEpisodes = o.evalEpisodes ?? 100;
  const evaluation = evalEpisodes > 0 ? evaluatePolicy(training.model, o.envId, evalEpisodes, 0).stats : null;
  const card: Record<string, unknown> = {
    env: o.envId,
    algorithm: o.algo,
    hyperParameters: training.hyperParameters,
    seed,
    envSteps: training.envSteps,
    wallTimeSec: Number(training.wallTimeSec.toFixed(1)),
    backend: backend.description,
    backendsSkipped: backend.skipped,
    parameterCount: paramCount(training.model),
    layers: training.model.layers.map((l) => `${l.inDim}x${l.outDim} ${l.activation}`),
    head: training.model.head.kind === 'discrete' ? `discrete ${training.model.head.output} (${training.model.head.n})` : `continuous (${training.model.head.squash})`,
    evaluation,
    modelSelection: training.selected,
    trainingEpisodes: training.episodes,
    trainingRecentReturn: training.recentReturn,
    gradientUpdatesPerSec: Number(training.updatesPerSec.toFixed(2)),
    envStepsPerSec: Number(training.stepsPerSec.toFixed(1)),
    date: new Date().toISOString(),
    machine: `${process.platform} ${process.arch}, node ${process.version}`,
  };
  const model: PolicyModel = { ...training.model, card: { ...training.model.card, ...card } };
  const files: string[] = [];
  if (run.outDir) {
    const policyPath = join(run.outDir, 'policy.json');
    writeFileAtomic(policyPath, policyToText(model));
    files.push(policyPath);
    if (o.onnx ?? true) files.push(await writeTeacherOnnx(model, join(run.outDir, 'teacher.onnx'), o.envId));
    const cardPath = join(run.outDir, 'card.json');
    writeFileAtomic(cardPath, `${JSON.stringify(card, null, 2)}\n`);
    files.push(cardPath);
  }
  return { model, card, training, evaluation, files };
}

/** Writes the ONNX teacher through the project's ONNX writer. */
export async function writeTeacherOnnx(model: PolicyModel, path: string, envId: string): Promise<string> {
  const { writeOnnx } = await import('../onnx/write.js');
  const env = makeEnv(envId);
  await writeOnnx(path, model, {
    observationSpace: env.observationSpace,
    docString: `edgedistill teacher for ${envId} (${String(model.card.algorithm)})`,
  });
  return path;
}
