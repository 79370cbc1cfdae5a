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

export type TransferSource = { kind: 'teacher'; teacher: string | TeacherLike } | { kind: 'ppo'; steps: number; hp?: Record<string, unknown> };

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

async function viaPpo(o: TransferOptions, start: PolicyModel, src: { steps: number; hp?: Record<string, unknown> }, seed: number, episodes: number): Promise<TransferResult> {
  if (!Number.isInteger(src.steps) || src.steps < 1) throw new EdgeDistillError('BAD_ARGUMENT', `--steps takes a whole number of env steps >= 1, got ${src.steps}`, { field: '--steps' });
  const { trainTeacher } = await import('../train/index.js');
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
  const run = async (initActor: PolicyModel | null) => {
    const t0 = performance.now();
    const res = await trainTeacher({
      envId: o.envId,
      envOptions: o.envOptions,
      algo: 'ppo',
      seed,
      steps: src.steps,
      hidden,
      outDir: null,
      hp: { ...(src.hp ?? {}), activation },
      evalEpisodes: episodes,
      initActor: initActor ? { ...initActor, card: { ...initActor.card, file: o.initFrom } } : null,
      log: o.log ?? null,
      logEverySec: 30,
    });
    return { res, seconds: (performance.now() - t0) / 1000 };
  };
  const a = await run(start);
  o.onProgress?.('from-init', { steps: a.res.training.envSteps });
  const b = await run(null);
  o.onProgress?.('from-scratch', { steps: b.res.training.envSteps });
  const toSummary = (s: { episodes: number; mean: number; std: number; min: number; max: number; seedStart: number } | null): ReturnSummary | null =>
    s ? { episodes: s.episodes, mean: s.mean, std: s.std, min: s.min, max: s.max, seedStart: s.seedStart } : null;
  const atStartReturn = await evaluateReturns(o.envId, policyOf(start), episodes, 0, o.envOptions);
  const randomReturn = await evaluateReturns(o.envId, randomPolicy(env.actionSpace, seed + 1), episodes, 0, o.envOptions);
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
