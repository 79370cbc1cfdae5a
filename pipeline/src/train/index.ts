/**
 * Public entry of the trainers: `trainTeacher` picks the backend, merges the hyper-parameters
 * (algorithm defaults < per-env preset < overrides), trains, evaluates the policy deterministically
 * and writes OUT/policy.json, OUT/teacher.onnx and OUT/card.json (each atomically).
 */
import { join } from 'node:path';
import { makeEnv, type EnvOptions } from '@edgedistill/runtime/envs';
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
import { checkEnvOptions } from './env-options.js';

export { ALGOS, type Algo, hyperFor } from './presets.js';
export { initBackend, type BackendInfo } from './backend.js';
export { evaluatePolicy, type ReturnStats } from './evaluate.js';
export { parseEnvOptions, checkEnvOptions, describeEnvOptions, ENV_OPTION_FLAG } from './env-options.js';

/** `--distill-into`: distill a student of these hidden sizes from the teacher every `every` env steps and at the end. */
export interface DistillIntoOptions {
  hidden: number[];
  /** Env steps between intervals (default: a fifth of the run). */
  every?: number;
  /** Training samples per interval (default 51200). */
  samples?: number;
  /** Evaluation episodes per interval (default 20). */
  episodes?: number;
  /** Where the student goes (default OUT/student). */
  outDir?: string | null;
}

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
  /** PPO, with evalEvery: the starting policy (step 0) is a selection candidate too. */
  selectAtStart?: boolean;
  /** Write teacher.onnx (needs the ONNX writer). */
  onnx?: boolean;
  /** Environment options (a variant: gravity, pole length, ...). */
  envOptions?: EnvOptions;
  /** Online distillation into a student while the teacher trains. */
  distillInto?: DistillIntoOptions | null;
  /** PPO only: start the actor from this student (fine-tuning; see transfer). */
  initActor?: PolicyModel | null;
}

export interface TrainTeacherResult {
  model: PolicyModel;
  card: Record<string, unknown>;
  training: TrainOutput;
  evaluation: ReturnStats | null;
  files: string[];
  /** With distillInto: the student, its distill report (with the per-interval history), and its directory. */
  student: { model: PolicyModel; report: import('../distill/distill.js').DistillReport; dir: string | null } | null;
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
  checkEnvOptions(o.envId, o.envOptions);
  if (o.initActor && o.algo !== 'ppo') throw new EdgeDistillError('BAD_ARGUMENT', `fine-tuning a student needs ppo, not ${o.algo}`, { field: '--algo' });
  const di = o.distillInto ?? null;
  if (di) {
    if (di.hidden.length === 0 || di.hidden.some((h) => !Number.isInteger(h) || h < 1)) {
      throw new EdgeDistillError('BAD_ARGUMENT', `--distill-into takes hidden sizes like 32,32, got ${JSON.stringify(di.hidden)}`, { field: '--distill-into' });
    }
    for (const [k, flag] of [['every', '--distill-every'], ['samples', '--distill-samples'], ['episodes', '--distill-episodes']] as const) {
      const v = di[k];
      if (v !== undefined && !(Number.isInteger(v) && v >= 1)) throw new EdgeDistillError('BAD_ARGUMENT', `${flag} takes a whole number >= 1, got ${v}`, { field: flag });
    }
  }
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
  const online = di
    ? new (await import('../distill/online.js')).OnlineDistiller({
        envId: o.envId,
        envOptions: o.envOptions,
        hidden: di.hidden,
        seed: o.seed ?? 1,
        samplesPerInterval: di.samples,
        episodes: di.episodes,
      })
    : null;
  const describe = (e: import('../distill/online.js').OnlineInterval): string =>
    `interval ${e.interval}: teacher ${e.teacherReturn?.toFixed(1) ?? '-'}, student ${e.studentReturn?.toFixed(1) ?? '-'}, ` +
    (e.agreement !== null ? `agreement ${(e.agreement * 100).toFixed(1)}%` : `action error ${e.actionError?.toFixed(4)}`);
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
    selectAtStart: o.selectAtStart ?? false,
    envOptions: o.envOptions,
    initActor: o.initActor ?? null,
    onInterval:
      online && di
        ? { every: di.every ?? Math.max(1, Math.floor(Number(hp.totalSteps) / 5)), run: async (_step, model) => describe(await online.update(_step, model)) }
        : null,
  };
  const training =
    o.algo === 'ppo'
      ? await trainPpo(run, hp as unknown as PpoHyper)
      : o.algo === 'dqn'
        ? await trainDqn(run, hp as unknown as DqnHyper)
        : await trainSac(run, hp as unknown as SacHyper);

  const evalEpisodes = o.evalEpisodes ?? 100;
  const evaluation = evalEpisodes > 0 ? evaluatePolicy(training.model, o.envId, evalEpisodes, 0, o.envOptions).stats : null;
  // The last interval distills the shipped teacher (the best one under model selection).
  let onlineSummary: import('../distill/online.js').OnlineSummary | null = null;
  if (online) {
    // The last periodic interval already distilled the shipped teacher when it ran at the final step without model selection.
    const prev = online.history[online.history.length - 1];
    const last = prev && prev.step === training.envSteps && training.selected === null ? prev : await online.update(training.envSteps, training.model, true);
    last.final = true;
    run.log?.(`final ${describe(last)}`);
    online.finish(training.model);
    onlineSummary = online.summary();
  }
  const card: Record<string, unknown> = {
    env: o.envId,
    ...(o.envOptions ? { envOptions: o.envOptions } : {}),
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
    ...(onlineSummary ? { onlineDistill: onlineSummary } : {}),
  };
  const model: PolicyModel = { ...training.model, card: { ...training.model.card, ...card } };
  const files: string[] = [];
  if (run.outDir) {
    const policyPath = join(run.outDir, 'policy.json');
    writeFileAtomic(policyPath, policyToText(model));
    files.push(policyPath);
    if (o.onnx ?? true) files.push(await writeTeacherOnnx(model, join(run.outDir, 'teacher.onnx'), o.envId, o.envOptions));
    const cardPath = join(run.outDir, 'card.json');
    writeFileAtomic(cardPath, `${JSON.stringify(card, null, 2)}\n`);
    files.push(cardPath);
  }
  let student: TrainTeacherResult['student'] = null;
  if (online && online.student && online.report) {
    const report = { ...online.report, online: onlineSummary };
    const dir = di?.outDir ?? (run.outDir ? join(run.outDir, 'student') : null);
    const sModel = { ...online.student, card: { ...online.student.card, onlineDistill: { intervals: onlineSummary?.intervals, teacherSteps: training.envSteps } } };
    if (dir) {
      const { mkdirSync } = await import('node:fs');
      mkdirSync(dir, { recursive: true });
      const { writeDistillArtifacts } = await import('../distill/artifacts.js');
      const w = await writeDistillArtifacts(dir, sModel, report);
      files.push(w.onnx, w.policy, w.report);
    }
    student = { model: sModel, report, dir };
  }
  return { model, card, training, evaluation, files, student };
}

/** Writes the ONNX teacher through the project's ONNX writer. */
export async function writeTeacherOnnx(model: PolicyModel, path: string, envId: string, envOptions?: EnvOptions): Promise<string> {
  const { writeOnnx } = await import('../onnx/write.js');
  const env = makeEnv(envId, envOptions);
  await writeOnnx(path, model, {
    observationSpace: env.observationSpace,
    docString: `edgedistill teacher for ${envId} (${String(model.card.algorithm)})`,
  });
  return path;
}
