/**
 * Transfer to a variant environment (`edgedistill distill --init-from DIR --env-option k=v`): an
 * existing student is adapted to the variant, either by DAgger from the variant's teacher starting
 * at the student's weights, or by fine-tuning the student itself with PPO (the student is the
 * actor, the critic is fresh). The same budget, seed and settings also train a student from
 * scratch, and the report's `transfer` section compares the two, whichever wins.
 */
import type { EnvOptions } from '@edgedistill/runtime/envs';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { paramCount } from '../ir/forward.js';
import type { PolicyModel } from '../ir/types.js';
import { distill, type DistillProgress, type DistillReport } from './distill.js';
import { evaluateReturns, randomPolicy, type ReturnSummary } from './evaluate.js';
import { INIT_FLAG, loadInitStudent } from './init.js';
import { openTeacher, type TeacherLike } from './teacher.js';

export type TransferSource = { kind: 'teacher'; teacher: string | TeacherLike } | ({ kind: 'ppo' } & PpoFinetuneOptions);

/** PPO fine-tuning (`--finetune ppo`): budget, and what keeps the first updates from undoing the student. */
export interface PpoFinetuneOptions {
  /** Env steps of each of the two runs. */
  steps: number;
  /** Hyper-parameter overrides of both runs (on top of the env's PPO preset). */
  hp?: Record<string, unknown>;
  /** Actor learning rate of the fine-tuned side (default: a tenth of the preset's). The critic keeps the preset's. */
  finetuneLr?: number;
  /** Rollouts at the start of fine-tuning that train only the fresh critic (default: 10, at most a quarter of the rollouts). */
  warmupRollouts?: number;
  /** Env steps between checkpoint evaluations on the selection seeds (default: a tenth of the budget). */
  evalEvery?: number;
  /** Selection episodes per evaluation (reset seeds 10000..; default 20). */
  selectEpisodes?: number;
}

/** Defaults of PPO fine-tuning, relative to the env's PPO preset. */
export const FINETUNE_LR_FACTOR = 0.1;
export const FINETUNE_WARMUP_ROLLOUTS = 10;
export const FINETUNE_SELECT_EPISODES = 20;

export interface TransferOptions {
  /** Directory (or policy.json) of the student to start from. */
  initFrom: string;
  envId: string;
  envOptions?: EnvOptions;
  source: TransferSource;
  seed?: number;
  /** Budget of the teacher source, in training samples (gradient steps x batch), for each of the two runs. */
  maxSamples?: number;
  /** Evaluation episodes (reset seeds 0..episodes-1 of the variant). */
  episodes?: number;
  /** Extra distill options (tests: smaller rollouts). */
  distillOptions?: Record<string, unknown>;
  onProgress?: (phase: 'from-init' | 'from-scratch', p: DistillProgress | { steps: number }) => void;
  log?: ((line: string) => void) | null;
}

export interface TransferSide {
  return: ReturnSummary | null;
  agreement: number | null;
  actionError: number | null;
  returnRetention: number | null;
  targetsMet: boolean | null;
  samples: number | null;
  samplesToTarget: number | null;
  envSteps: number | null;
  wallSeconds: number;
  /**
   * PPO: checkpoints evaluated on the selection seeds (the start included, at step 0) and the one
   * kept (the best; on a tie the earlier), whose return on the reporting seeds is `return`.
   */
  selection?: {
    seedStart: number;
    episodes: number;
    every: number;
    curve: { steps: number; return: number }[];
    kept: { steps: number; return: number; start: boolean };
  } | null;
}

export interface TransferSection {
  initFrom: string;
  env: string;
  envOptions: EnvOptions | null;
  source: 'teacher' | 'ppo';
  teacher: string | null;
  budget: { samples: number | null; envSteps: number | null; seed: number; episodes: number };
  /** The starting student on the variant, before adaptation. */
  atStart: { return: ReturnSummary | null; agreement: number | null; actionError: number | null; maxAbsDiffAtStep0: number | null };
  fromInit: TransferSide;
  fromScratch: TransferSide;
  /** PPO: the settings of each side (the fine-tuned side's actor rate, warm-up and the shared preset). */
  finetune?: {
    fromInit: { actorLearningRate: number; criticLearningRate: number; warmupRollouts: number; clipCoef: number };
    fromScratch: { actorLearningRate: number; criticLearningRate: number; warmupRollouts: number; clipCoef: number };
  } | null;
  verdict: 'from-init better' | 'from-scratch better' | 'no clear difference';
  reason: string;
}

export interface TransferResult {
  student: PolicyModel;
  scratch: PolicyModel;
  /** distill's report (teacher source) or the PPO fine-tuning report, each with `transfer`. */
  report: (DistillReport | FinetuneReport) & { transfer: TransferSection };
  scratchReport: DistillReport | FinetuneReport;
}

/** What `distill --init-from --finetune ppo` writes as report.json (the distill report's layout, no teacher). */
export interface FinetuneReport {
  env: string;
  envOptions: EnvOptions | null;
  mode: 'finetune-ppo';
  teacher: { files: string[]; sha256: string[]; outputKind: string; params: null; return: null };
  student: { hidden: number[]; activation: string; params: number; paramRatio: null; return: ReturnSummary | null };
  random: { return: ReturnSummary | null };
  agreement: null;
  actionError: null;
  returnRetention: null;
  loss: null;
  seed: number;
  envSteps: number;
  wallSeconds: number;
  backend: string;
  hyperParameters: Record<string, unknown>;
  curve: { samples: number; round: number; return: number }[];
  /** The checkpoints evaluated during PPO and the one kept (see TransferSide.selection). */
  selection: TransferSide['selection'];
  transfer?: TransferSection;
}

export async function transferStudent(o: TransferOptions): Promise<TransferResult> {
  const { checkEnvOptions } = await import('../train/env-options.js');
  checkEnvOptions(o.envId, o.envOptions);
  const start = await loadInitStudent(o.initFrom);
  const seed = o.seed ?? 0;
  const episodes = o.episodes ?? 100;
  if (start.envId && start.envId !== o.envId) {
    o.log?.(`note: ${o.initFrom} is a student of ${start.envId}; adapting it to ${o.envId}`);
  }
  return o.source.kind === 'teacher' ? viaTeacher(o, start, o.source.teacher, seed, episodes) : viaPpo(o, start, o.source, seed, episodes);
}

async function viaTeacher(o: TransferOptions, start: PolicyModel, t: string | TeacherLike, seed: number, episodes: number): Promise<TransferResult> {
  const teacher = typeof t === 'string' ? await openTeacher(t) : t;
  try {
    const maxSamples = o.maxSamples ?? 1_000_000;
    const common = {
      teacher,
      envId: o.envId,
      envOptions: o.envOptions,
      seed,
      maxSamples,
      episodes,
      ...(o.distillOptions ?? {}),
    };
    const a = await distill({ ...common, initFrom: start, initFromName: o.initFrom, onProgress: (p) => o.onProgress?.('from-init', p) });
    const hidden = a.report.student.hidden;
    const b = await distill({ ...common, hidden, activation: a.report.student.activation as 'relu' | 'tanh', onProgress: (p) => o.onProgress?.('from-scratch', p) });
    const side = (r: DistillReport): TransferSide => ({
      return: r.student.return,
      agreement: r.agreement,
      actionError: r.actionError,
      returnRetention: r.returnRetention,
      targetsMet: r.targetsMet,
      samples: r.samples,
      samplesToTarget: r.samplesToTarget,
      envSteps: null,
      wallSeconds: r.wallSeconds,
    });
    const fromInit = side(a.report);
    const fromScratch = side(b.report);
    const transfer: TransferSection = {
      initFrom: o.initFrom,
      env: o.envId,
      envOptions: o.envOptions ?? null,
      source: 'teacher',
      teacher: teacher.file ?? null,
      budget: { samples: maxSamples, envSteps: null, seed, episodes },
      atStart: {
        return: a.report.init?.return ?? null,
        agreement: a.report.init?.agreement ?? null,
        actionError: a.report.init?.actionError ?? null,
        maxAbsDiffAtStep0: a.report.init?.maxAbsDiffAtStep0 ?? null,
      },
      fromInit,
      fromScratch,
      ...verdict(fromInit, fromScratch),
    };
    return { student: a.student, scratch: b.student, report: { ...a.report, transfer }, scratchReport: b.report };
  } finally {
    if (typeof t === 'string') await (teacher as { dispose?: () => Promise<void> }).dispose?.();
  }
}

async function viaPpo(o: TransferOptions, start: PolicyModel, src: PpoFinetuneOptions, seed: number, episodes: number): Promise<TransferResult> {
  if (!Number.isInteger(src.steps) || src.steps < 1) throw new EdgeDistillError('BAD_ARGUMENT', `--steps takes a whole number of env steps >= 1, got ${src.steps}`, { field: '--steps' });
  const { trainTeacher, hyperFor } = await import('../train/index.js');
  const { SELECT_SEED_START } = await import('../train/run.js');
  const { makeEnv } = await import('@edgedistill/runtime/envs');
  const env = makeEnv(o.envId, o.envOptions);
  const hidden = start.layers.slice(0, -1).map((l) => l.outDim);
  const activation = start.layers[0].activation;
  if (start.obsDim !== env.observationSpace.low.length) {
    throw new EdgeDistillError('BAD_ARGUMENT', `the student takes ${start.obsDim} observation values but ${o.envId} gives ${env.observationSpace.low.length}`, {
      file: o.initFrom,
      field: INIT_FLAG,
    });
  }
  if (activation !== 'relu' && activation !== 'tanh') {
    throw new EdgeDistillError('UNSUPPORTED', `PPO fine-tuning needs relu or tanh hidden layers; the student has ${activation}`, { file: o.initFrom, field: INIT_FLAG });
  }
  const base = { ...(hyperFor('ppo', o.envId) as unknown as Record<string, unknown>), ...(src.hp ?? {}) };
  const presetLr = Number(base.learningRate);
  const rollout = Number(base.numEnvs) * Number(base.numSteps);
  const updates = Math.max(1, Math.floor(src.steps / rollout));
  const finetuneLr = src.finetuneLr ?? presetLr * FINETUNE_LR_FACTOR;
  if (!(Number.isFinite(finetuneLr) && finetuneLr >= 0)) throw new EdgeDistillError('BAD_ARGUMENT', `--finetune-lr takes a learning rate >= 0, got ${src.finetuneLr}`, { field: '--finetune-lr' });
  const warmup = src.warmupRollouts ?? Math.min(FINETUNE_WARMUP_ROLLOUTS, Math.floor(updates / 4));
  if (!(Number.isInteger(warmup) && warmup >= 0)) throw new EdgeDistillError('BAD_ARGUMENT', `--warmup-rollouts takes a whole number >= 0, got ${src.warmupRollouts}`, { field: '--warmup-rollouts' });
  if (warmup >= updates) {
    throw new EdgeDistillError('BAD_ARGUMENT', `--warmup-rollouts ${warmup} leaves no actor update: the budget is ${updates} rollouts of ${rollout} env steps`, {
      field: '--warmup-rollouts',
      suggestion: `at most ${updates - 1}, or more --steps`,
    });
  }
  const evalEvery = src.evalEvery ?? Math.max(rollout, Math.round(src.steps / 10));
  const selectEpisodes = src.selectEpisodes ?? FINETUNE_SELECT_EPISODES;
  for (const [flag, v] of [['--eval-every', evalEvery], ['--select-episodes', selectEpisodes]] as const) {
    if (!(Number.isInteger(v) && v >= 1)) throw new EdgeDistillError('BAD_ARGUMENT', `${flag} takes a whole number >= 1, got ${v}`, { field: flag });
  }
  // Both sides: the same budget, seed, preset and selection rule (the start of each run is a
  // checkpoint; the best on the selection seeds is kept). Only the fine-tuned side gets the slower
  // actor and the critic warm-up, which are about not undoing weights that already work.
  const settings = {
    fromInit: { actorLearningRate: finetuneLr, criticLearningRate: presetLr, warmupRollouts: warmup, clipCoef: Number(base.clipCoef) },
    fromScratch: { actorLearningRate: presetLr, criticLearningRate: presetLr, warmupRollouts: 0, clipCoef: Number(base.clipCoef) },
  };
  const run = async (initActor: PolicyModel | null) => {
    const t0 = performance.now();
    const own = initActor ? settings.fromInit : settings.fromScratch;
    const res = await trainTeacher({
      envId: o.envId,
      envOptions: o.envOptions,
      algo: 'ppo',
      seed,
      steps: src.steps,
      hidden,
      outDir: null,
      hp: { ...(src.hp ?? {}), activation, ...(initActor ? { actorLearningRate: own.actorLearningRate, warmupRollouts: own.warmupRollouts } : {}) },
      evalEpisodes: episodes,
      evalEvery,
      selectEpisodes,
      selectAtStart: true,
      initActor: initActor ? { ...initActor, card: { ...initActor.card, file: o.initFrom } } : null,
      log: o.log ?? null,
      logEverySec: 30,
    });
    return { res, seconds: (performance.now() - t0) / 1000 };
  };
  const toSummary = (s: { episodes: number; mean: number; std: number; min: number; max: number; seedStart: number } | null): ReturnSummary | null =>
    s ? { episodes: s.episodes, mean: s.mean, std: s.std, min: s.min, max: s.max, seedStart: s.seedStart } : null;
  // The starting student first: it is what fine-tuning has to beat.
  const atStartReturn = await evaluateReturns(o.envId, policyOf(start), episodes, 0, o.envOptions);
  o.log?.(`the starting student on ${o.envId}: mean return ${atStartReturn.mean.toFixed(2)} over ${episodes} episodes`);
  const a = await run(start);
  o.onProgress?.('from-init', { steps: a.res.training.envSteps });
  const b = await run(null);
  o.onProgress?.('from-scratch', { steps: b.res.training.envSteps });
  const randomReturn = await evaluateReturns(o.envId, randomPolicy(env.actionSpace, seed + 1), episodes, 0, o.envOptions);
  const selectionOf = (x: typeof a): TransferSide['selection'] => {
    const sel = x.res.training.selected;
    if (!sel) return null;
    return {
      seedStart: SELECT_SEED_START,
      episodes: sel.episodes,
      every: evalEvery,
      curve: sel.curve.map((c) => ({ steps: c.step, return: c.meanReturn })),
      kept: { steps: sel.step, return: sel.meanReturn, start: sel.step === 0 },
    };
  };
  const side = (x: typeof a): TransferSide => ({
    return: toSummary(x.res.evaluation),
    agreement: null,
    actionError: null,
    returnRetention: null,
    targetsMet: null,
    samples: null,
    samplesToTarget: null,
    envSteps: x.res.training.envSteps,
    wallSeconds: x.seconds,
    selection: selectionOf(x),
  });
  const fromInit = side(a);
  const fromScratch = side(b);
  const transfer: TransferSection = {
    initFrom: o.initFrom,
    env: o.envId,
    envOptions: o.envOptions ?? null,
    source: 'ppo',
    teacher: null,
    budget: { samples: null, envSteps: src.steps, seed, episodes },
    atStart: { return: atStartReturn, agreement: null, actionError: null, maxAbsDiffAtStep0: null },
    fromInit,
    fromScratch,
    finetune: settings,
    ...verdict(fromInit, fromScratch),
  };
  const reportOf = (x: typeof a, modelCard: Record<string, unknown>): FinetuneReport => ({
    env: o.envId,
    envOptions: o.envOptions ?? null,
    mode: 'finetune-ppo',
    teacher: { files: [], sha256: [], outputKind: 'none', params: null, return: null },
    student: { hidden, activation, params: paramCount(x.res.model), paramRatio: null, return: toSummary(x.res.evaluation) },
    random: { return: randomReturn },
    agreement: null,
    actionError: null,
    returnRetention: null,
    loss: null,
    seed,
    envSteps: x.res.training.envSteps,
    wallSeconds: x.seconds,
    backend: String(modelCard.backend ?? ''),
    hyperParameters: x.res.training.hyperParameters,
    curve: [],
    selection: selectionOf(x),
  });
  const studentOf = (x: typeof a, from: string | null): PolicyModel => ({
    ...x.res.model,
    card: {
      source: 'finetune-ppo',
      env: o.envId,
      ...(o.envOptions ? { envOptions: o.envOptions } : {}),
      initFrom: from,
      envSteps: x.res.training.envSteps,
      seed,
      backend: x.res.card.backend,
      evaluation: x.res.evaluation ? toSummary(x.res.evaluation) : null,
      selection: selectionOf(x),
    },
  });
  return {
    student: studentOf(a, o.initFrom),
    scratch: studentOf(b, null),
    report: { ...reportOf(a, a.res.card), transfer },
    scratchReport: reportOf(b, b.res.card),
  };
}

function policyOf(m: PolicyModel) {
  return async (obs: Float32Array, n: number) => {
    const { forward, argmaxRow } = await import('../ir/forward.js');
    const y = forward(m, obs, n);
    if (m.head.kind !== 'discrete') return y;
    const k = m.head.n;
    return Int32Array.from({ length: n }, (_, r) => argmaxRow(y, k, r));
  };
}

/**
 * Which start did better at the same budget. In order: meeting the distillation targets (and then
 * needing clearly fewer samples, < 80%), a return difference beyond two standard errors, then a
 * held-out agreement difference of more than one point (or action error 20% apart).
 */
export function verdict(a: TransferSide, b: TransferSide): Pick<TransferSection, 'verdict' | 'reason'> {
  const win = (initBetter: boolean, reason: string) => ({ verdict: initBetter ? ('from-init better' as const) : ('from-scratch better' as const), reason });
  if (a.targetsMet !== null && b.targetsMet !== null && a.targetsMet !== b.targetsMet) {
    return win(a.targetsMet, `only ${a.targetsMet ? 'from-init' : 'from-scratch'} met the distillation targets within the budget`);
  }
  if (a.targetsMet && b.targetsMet && a.samplesToTarget !== null && b.samplesToTarget !== null) {
    if (a.samplesToTarget < 0.8 * b.samplesToTarget || b.samplesToTarget < 0.8 * a.samplesToTarget) {
      return win(a.samplesToTarget < b.samplesToTarget, `both met the targets; from-init after ${a.samplesToTarget} samples, from-scratch after ${b.samplesToTarget}`);
    }
  }
  if (a.return && b.return) {
    const se = Math.sqrt(a.return.std ** 2 / a.return.episodes + b.return.std ** 2 / b.return.episodes);
    const d = a.return.mean - b.return.mean;
    if (Math.abs(d) > 2 * se && Math.abs(d) > 1e-9) {
      return win(d > 0, `mean return ${a.return.mean.toFixed(2)} from init vs ${b.return.mean.toFixed(2)} from scratch (difference beyond 2 standard errors, ${(2 * se).toFixed(2)})`);
    }
  }
  if (a.agreement !== null && b.agreement !== null && Math.abs(a.agreement - b.agreement) > 0.01) {
    return win(a.agreement > b.agreement, `held-out agreement ${(a.agreement * 100).toFixed(2)}% from init vs ${(b.agreement * 100).toFixed(2)}% from scratch`);
  }
  if (a.actionError !== null && b.actionError !== null && Math.abs(a.actionError - b.actionError) > 0.2 * Math.max(a.actionError, b.actionError)) {
    return win(a.actionError < b.actionError, `held-out action error ${a.actionError.toFixed(4)} from init vs ${b.actionError.toFixed(4)} from scratch`);
  }
  return { verdict: 'no clear difference', reason: 'returns within 2 standard errors and held-out metrics within tolerance (or both met the targets in similar samples)' };
}
