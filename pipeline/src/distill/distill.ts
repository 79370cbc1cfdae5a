/**
 * Policy distillation, teacher -> small student, read top to bottom:
 *   1. teachers and spaces (checked against each other and the env),
 *   2. data: a held-out set of teacher-visited states (never trained on), then DAgger rounds with
 *      beta_i = betaDecay^i (round 0 teacher-driven, later rounds more and more student-driven, all
 *      labelled by the teacher) into one replay buffer; or, offline, recorded states the teacher labels,
 *   3. the student trained with MlpTrainer (wasm SIMD, or js-f32; Adam, minibatches from the buffer),
 *   4. early stop when the held-out target (agreement, or action error) is met and, with an env,
 *      the return retention over the evaluation episodes is met too; else at the budget,
 *   5. the report: returns of teacher, student and a random policy on the same seeds.
 * Anchors: Rusu et al. 2016 (KL to a sharpened teacher), Ross et al. 2011 (DAgger), Czarnecki et
 * al. 2019 (student-driven data).
 */
import { makeEnv, makeVectorEnv, type BoxSpace, type EnvOptions, type Space, type VectorEnv } from '@edgedistill/runtime/envs';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { forward } from '../ir/forward.js';
import type { PolicyModel } from '../ir/types.js';
import { Adam } from './adam.js';
import { writeDistillCheckpoint, type DistillCheckpoint } from './checkpoint.js';
import { evaluateReturns, randomPolicy, type BatchPolicy, type ReturnSummary } from './evaluate.js';
import { makeLabeler, makeLabelSpec, type LossName } from './labels.js';
import { argmaxRow } from './losses.js';
import { defaultTrainerBackend, MlpTrainer, mlpParamCount, type TrainActivation } from './mlp-train.js';
import { normalizeRows, Objective } from './objective.js';
import type { Matrix } from './npy.js';
import { readObservations } from './observations.js';
import { DistillBuffer } from './replay.js';
import { Rng } from './rng.js';
import { collectRollouts, type Labeler, type Labels, type StudentActor } from './rollouts.js';
import { checkInitStudent, foldNormalization, type InitReport } from './init.js';
import { defaultHidden, observationStats, studentHead, studentModel } from './student.js';
import {
  describeTeacher,
  openTeacher,
  sameSpaces,
  teacherParams,
  type OpenTeacherOptions,
  type TeacherLike,
  type TeacherOutput,
} from './teacher.js';

/** The trainer backend distill's MlpTrainers get on this engine (wasm SIMD, or plain JS without it). */
export const BACKEND = defaultTrainerBackend();

export interface DistillProgress {
  round: number;
  beta: number;
  samples: number;
  agreement: number | null;
  actionError: number | null;
  loss: number;
  lr: number;
  seconds: number;
}

export interface DistillOptions {
  /** Teacher(s): loaded teachers or ONNX files. Several teachers with the same spaces are averaged. */
  teacher: TeacherLike | string | readonly (TeacherLike | string)[];
  /** Importer options for teachers given as files (teacherOutput, obsNorm). */
  teacherOptions?: OpenTeacherOptions;
  /** Environment id; needed for rollouts and returns. Optional in offline mode. */
  envId?: string | null;
  /** Environment options (a variant: gravity, pole length, ...) for every env of the run. */
  envOptions?: EnvOptions;
  /**
   * Start the student from these weights (a student of another run, or of the previous interval
   * of online distillation) instead of a random init. Its sizes and activation are used; its input
   * normalization is folded into the first layer when the data's statistics differ (an exact
   * re-parameterization), so step-0 predictions equal the given model's.
   */
  initFrom?: PolicyModel | null;
  /** Name of initFrom in errors and the report (the --init-from path). */
  initFromName?: string;
  /** Offline mode: recorded states (file path or matrix) labelled by the teacher; no rollouts. */
  observations?: string | Matrix | null;
  /** Student hidden sizes; default: the env's preferred size (32,32 for the built-ins, 64,64 otherwise), smaller if needed to stay <= 10% of the teacher's parameters. */
  hidden?: readonly number[];
  activation?: 'relu' | 'tanh';
  loss?: LossName;
  /** Teacher softmax temperature for 'kl' (default 0.01 on q-values, 1 on logits). */
  tau?: number;
  seed?: number;
  batchSize?: number;
  lr?: number;
  /** Halve the learning rate after this many held-out checks without a 1% loss improvement (default 0: never). */
  lrPatience?: number;
  /** Smallest learning rate, as a fraction of lr. */
  minLrFraction?: number;
  /** Decay of the weight average that is checked and shipped (0: ship the raw weights). */
  emaDecay?: number;
  numEnvs?: number;
  /**
   * DAgger rounds at most (round 0 is teacher-driven); after them training goes on over the
   * buffer, for at most 3x as many more blocks of trainStepsPerRound steps, or to the budget.
   */
  rounds?: number;
  /** beta_i = betaDecay^i: probability that the teacher acts in round i. */
  betaDecay?: number;
  /** Vector steps per round (default: max(min(maxEpisodeSteps, 1000), 16384 / numEnvs)). */
  stepsPerRound?: number;
  /** Gradient steps between DAgger rounds. */
  trainStepsPerRound?: number;
  /** Gradient steps between held-out checks. */
  checkEvery?: number;
  /** Held-out teacher-visited states (about). */
  heldOutStates?: number;
  bufferCapacity?: number;
  /** Early-stop targets; retention is only checked with an env. */
  target?: { agreement?: number; retention?: number; actionError?: number };
  /** Budget in training samples (gradient steps x batch). */
  maxSamples?: number;
  /** Budget in seconds (a run stopped by time is not reproducible: prefer maxSamples). */
  maxSeconds?: number;
  /** Evaluation episodes for teacher, student and random (seeds evalSeed .. evalSeed + episodes - 1). */
  episodes?: number;
  evalSeed?: number;
  onProgress?: (p: DistillProgress) => void;
  /** Write a checkpoint to `file` (atomically) at the start of every `every`-th round (round 0 included). */
  checkpoint?: { file: string; every: number };
  /** Continue from a checkpoint of a run with the same teacher(s), data and training options. */
  resume?: DistillCheckpoint | null;
}

export interface CurvePoint {
  samples: number;
  round: number;
  agreement: number | null;
  actionError: number | null;
  loss: number;
  lr: number;
  seconds: number;
  /** Return retention, at the points where the held-out target was met and returns were checked. */
  retention?: number | null;
}

export interface DistillReport {
  env: string | null;
  mode: 'online' | 'offline';
  teacher: {
    files: string[];
    sha256: (string | null)[];
    outputKind: string;
    params: number | null;
    return: ReturnSummary | null;
  };
  student: { hidden: number[]; activation: string; params: number; paramRatio: number | null; return: ReturnSummary | null };
  random: { return: ReturnSummary | null };
  agreement: number | null;
  actionError: number | null;
  returnRetention: number | null;
  targets: { agreement: number | null; actionError: number | null; retention: number | null };
  targetsMet: boolean;
  stopReason: 'targets' | 'samples' | 'seconds' | 'rounds';
  loss: LossName;
  tau: number | null;
  seed: number;
  batchSize: number;
  lr: number;
  samples: number;
  gradientSteps: number;
  transitions: number;
  rounds: number;
  betas: number[];
  heldOut: { states: number; seed: number | null };
  wallSeconds: number;
  /** Seconds in data collection, baseline returns, gradient steps and checks (the rest is setup and the final report). */
  timing: { data: number; baselines: number; train: number; checks: number };
  secondsToTarget: number | null;
  samplesToTarget: number | null;
  backend: string;
  curve: CurvePoint[];
  /** Set when the run continued from a checkpoint: the round it started again at, and the samples trained before. */
  resumedFrom: { round: number; samples: number } | null;
  /** Environment options of the run (null: the env's defaults). */
  envOptions?: EnvOptions | null;
  /** With initFrom: the starting student before any step (held-out metrics, returns, prediction check). */
  init?: InitReport | null;
  /** Online distillation (`train --distill-into`): one entry per interval. */
  online?: unknown;
  /** Transfer to a variant (`distill --init-from`): from-init vs from-scratch on the same budget. */
  transfer?: unknown;
}

export interface DistillResult {
  student: PolicyModel;
  report: DistillReport;
}

const now = () => performance.now() / 1000;

/** Opens teachers given as files (sequentially, so a bad file fails before more sessions open). */
async function resolveTeachers(
  t: DistillOptions['teacher'],
  teacherOptions: OpenTeacherOptions | undefined,
  opened: { dispose?: () => Promise<void> }[],
): Promise<TeacherLike[]> {
  const list = Array.isArray(t) ? (t as (TeacherLike | string)[]) : [t as TeacherLike | string];
  if (list.length === 0) throw new EdgeDistillError('BAD_ARGUMENT', 'at least one teacher is needed', { field: 'teacher' });
  const out: TeacherLike[] = [];
  for (const x of list) {
    if (typeof x === 'string') {
      const teacher = await openTeacher(x, teacherOptions);
      opened.push(teacher);
      out.push(teacher);
    } else out.push(x);
  }
  return out;
}

/** Labels every row of a matrix in chunks (offline mode). */
async function labelAll(label: Labeler, m: Matrix, obsDim: number, sink: (obs: Float32Array, l: Labels, n: number) => void): Promise<void> {
  const chunk = 1024;
  for (let r = 0; r < m.rows; r += chunk) {
    const n = Math.min(chunk, m.rows - r);
    const obs = m.data.subarray(r * obsDim, (r + n) * obsDim);
    sink(obs, await label(obs, n), n);
  }
}

export async function distill(opts: DistillOptions): Promise<DistillResult> {
  const opened: { dispose?: () => Promise<void> }[] = [];
  try {
    return await runDistill(opts, opened);
  } finally {
    for (const t of opened) await t.dispose?.();
  }
}

async function runDistill(opts: DistillOptions, opened: { dispose?: () => Promise<void> }[]): Promise<DistillResult> {
  const resume = opts.resume ?? null;
  const t0 = now() - (resume?.elapsedSeconds ?? 0);
  // Where the wall time goes: data (rollouts + teacher labels), baselines (teacher and random
  // returns), train (gradient steps), checks (held-out metrics and student returns).
  const timing = resume ? { ...resume.timing } : { data: 0, baselines: 0, train: 0, checks: 0 };
  const timed = async <T>(key: keyof typeof timing, f: () => Promise<T> | T): Promise<T> => {
    const s = now();
    try {
      return await f();
    } finally {
      timing[key] += now() - s;
    }
  };
  const seed = opts.seed ?? 0;
  const rng = new Rng(seed);
  const envId = opts.envId ?? null;
  const envOptions = opts.envOptions;
  const initFrom = opts.initFrom ?? null;
  if (initFrom && resume) throw new EdgeDistillError('BAD_ARGUMENT', 'a run resumed from a checkpoint already has its weights; drop --init-from or --resume', { field: '--init-from' });
  const batch = opts.batchSize ?? 256;
  const lr = opts.lr ?? 1e-2;
  const numEnvs = opts.numEnvs ?? 32;
  const episodes = opts.episodes ?? 100;
  const evalSeed = opts.evalSeed ?? 0;
  const maxSamples = opts.maxSamples ?? 50_000_000;
  const maxSeconds = opts.maxSeconds ?? 900;
  const maxRounds = opts.rounds ?? 12;
  const betaDecay = opts.betaDecay ?? 0.5;
  const trainStepsPerRound = opts.trainStepsPerRound ?? 1000;
  const checkEvery = opts.checkEvery ?? 100;
  const heldOutStates = opts.heldOutStates ?? 5000;
  const lrPatience = opts.lrPatience ?? 0;
  const minLr = lr * (opts.minLrFraction ?? 0.01);

  // 1. Teachers and spaces.
  const teachers = await resolveTeachers(opts.teacher, opts.teacherOptions, opened);
  let obsSpace: BoxSpace | null = null;
  let actionSpace: Space | null = null;
  let maxEpisodeSteps = 1000;
  if (envId !== null) {
    const env = makeEnv(envId, envOptions);
    obsSpace = env.observationSpace;
    actionSpace = env.actionSpace;
    maxEpisodeSteps = env.maxEpisodeSteps;
  } else if (!opts.observations) {
    throw new EdgeDistillError('BAD_ARGUMENT', 'give an environment (--env) or recorded states (--observations)', { field: 'env' });
  }
  const outs: TeacherOutput[] = teachers.map((t) => describeTeacher(t, obsSpace, actionSpace, envId));
  outs.forEach((o, k) => {
    if (!sameSpaces(outs[0], o) || teachers[k].obsDim !== teachers[0].obsDim) {
      throw new EdgeDistillError('BAD_MODEL', `teacher ${k + 1} has other spaces than teacher 1; averaged targets need identical spaces`, {
        file: teachers[k].file,
        suggestion: 'use distillMultiTask for teachers of different environments',
      });
    }
  });
  const spec = makeLabelSpec(outs, opts.loss, opts.tau);
  const out = spec.out;
  const obsDim = teachers[0].obsDim;
  const outDim = out.kind === 'discrete' ? out.n : out.dim;
  const tParams = teachers.map(teacherParams);
  const teacherParamCount = tParams.every((p) => p !== null) ? Math.max(...(tParams as number[])) : null;
  // Offline runs without --env still know the task from the teacher's own card, when it has one.
  const taskId = envId ?? teachers[0].model?.envId ?? null;
  const initShape = initFrom ? checkInitStudent(initFrom, obsDim, out, opts.initFromName ?? 'the init student', opts.hidden, opts.activation) : null;
  const hidden = initShape ? initShape.hidden : opts.hidden ? [...opts.hidden] : defaultHidden(teacherParamCount, obsDim, outDim, taskId);
  const hiddenAct: TrainActivation = initShape ? initShape.activation : (opts.activation ?? 'relu');
  const label = makeLabeler(teachers, spec);
  const vec: VectorEnv | null = envId !== null && !opts.observations ? makeVectorEnv(envId, numEnvs, envOptions) : null;
  const online = vec !== null;
  // About 16k transitions per round, and at least one full episode per copy (up to 1000 steps).
  const stepsPerRound = opts.stepsPerRound ?? Math.max(Math.min(maxEpisodeSteps, 1000), Math.ceil(16_384 / numEnvs));
  // What a checkpoint must share with this run for a resume to continue it (budgets may change).
  const fingerprint: Record<string, unknown> = {
    env: envId,
    envOptions: envOptions ?? null,
    mode: opts.observations ? (typeof opts.observations === 'string' ? `offline:${opts.observations}` : 'offline:matrix') : 'online',
    teachers: teachers.map((t) => t.sha256 ?? t.file ?? 'in-memory'),
    loss: spec.loss,
    tau: spec.loss === 'kl' && out.kind === 'discrete' ? spec.tau : null,
    sizes: [obsDim, ...hidden, outDim],
    activation: hiddenAct,
    seed,
    batch,
    lr,
    numEnvs,
    stepsPerRound,
    trainStepsPerRound,
    checkEvery,
    betaDecay,
    emaDecay: opts.emaDecay ?? 0.995,
  };
  if (resume) {
    const a = JSON.stringify(resume.fingerprint);
    const b = JSON.stringify(fingerprint);
    if (a !== b) {
      const diff = Object.keys(fingerprint).filter((k) => JSON.stringify(resume.fingerprint[k]) !== JSON.stringify(fingerprint[k]));
      throw new EdgeDistillError('BAD_ARGUMENT', `the checkpoint is of another run (differs in ${diff.join(', ') || 'its options'})`, {
        field: '--resume',
        suggestion: 'resume with the same teacher, env, student, seed and training options, or start a new run',
      });
    }
  }

  // 2. Data.
  const capacity = opts.bufferCapacity ?? 1_000_000;
  const train = new DistillBuffer(capacity, obsDim, spec.targetDim, spec.actionDim);
  let heldOut: DistillBuffer;
  let heldOutSeed: number | null = null;
  const seedBase = 10_000 + (seed % 10_000) * 100_000;
  let transitions = 0;
  const tData = now();
  if (resume) {
    heldOut = new DistillBuffer(Math.max(resume.heldOut.size, 1), obsDim, spec.targetDim, spec.actionDim);
    heldOut.restore(resume.heldOut);
    train.restore(resume.train);
    heldOutSeed = resume.heldOutSeed;
    transitions = resume.transitions;
  } else if (online) {
    heldOutSeed = seedBase + 90_000;
    const steps = Math.min(maxEpisodeSteps, 1000);
    const keepEvery = Math.max(1, Math.ceil((numEnvs * steps) / heldOutStates));
    heldOut = new DistillBuffer(Math.ceil(steps / keepEvery) * numEnvs, obsDim, spec.targetDim, spec.actionDim);
    await collectRollouts({
      vec,
      seed: heldOutSeed,
      steps,
      beta: 1,
      rng,
      label,
      student: null,
      keepEvery,
      sink: (o, l, n) => heldOut.add(o, l.targets, l.actions, n),
    });
    transitions += await collectRollouts({
      vec,
      seed: seedBase,
      steps: stepsPerRound,
      beta: 1,
      rng,
      label,
      student: null,
      sink: (o, l, n) => train.add(o, l.targets, l.actions, n),
    });
  } else {
    const m = typeof opts.observations === 'string' ? await readObservations(opts.observations) : (opts.observations as Matrix);
    const file = typeof opts.observations === 'string' ? opts.observations : undefined;
    if (m.cols !== obsDim) {
      throw new EdgeDistillError('BAD_OBSERVATION', `observations have ${m.cols} values per state but the teacher takes ${obsDim}`, {
        file,
        field: 'obs',
      });
    }
    if (m.rows < 2) throw new EdgeDistillError('BAD_ARGUMENT', 'need at least 2 recorded states (one is held out)', { file });
    // Shuffle, then hold out 10% (at most heldOutStates) for agreement.
    const perm = Int32Array.from({ length: m.rows }, (_, i) => i);
    for (let i = m.rows - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
    const nHeld = Math.max(1, Math.min(heldOutStates, Math.round(m.rows * 0.1)));
    const shuffled = new Float32Array(m.rows * obsDim);
    perm.forEach((src, dst) => shuffled.set(m.data.subarray(src * obsDim, (src + 1) * obsDim), dst * obsDim));
    heldOut = new DistillBuffer(nHeld, obsDim, spec.targetDim, spec.actionDim);
    const trainRows = m.rows - nHeld;
    await labelAll(label, { rows: nHeld, cols: obsDim, data: shuffled.subarray(0, nHeld * obsDim) }, obsDim, (o, l, n) =>
      heldOut.add(o, l.targets, l.actions, n),
    );
    await labelAll(label, { rows: trainRows, cols: obsDim, data: shuffled.subarray(nHeld * obsDim) }, obsDim, (o, l, n) =>
      train.add(o, l.targets, l.actions, n),
    );
    transitions = trainRows;
  }
  if (!resume) timing.data += now() - tData;
  const dataNorm = resume ? { mean: resume.norm.mean, std: resume.norm.std, clip: null } : observationStats(train.obs, train.size, obsDim);
  // A student given to start from keeps its weights; its normalization moves to the data's
  // statistics through an exact change of the first layer (kept as is when it clips).
  const startModel = initFrom ? foldNormalization(initFrom, dataNorm) : null;
  const norm = startModel?.obsNorm ?? dataNorm;

  // 3. Student and optimizer.
  const sizes = [obsDim, ...hidden, outDim];
  const acts: TrainActivation[] = [...hidden.map(() => hiddenAct), 'none'];
  const trainer = new MlpTrainer({ sizes, activations: acts }, Math.max(batch, numEnvs), startModel ? startModel.layers : rng);
  const adam = new Adam(trainer.params.length, { lr });
  // Polyak averaging: the student we check and ship is an exponential moving average of the
  // weights, which removes most of the minibatch noise that keeps agreement bouncing near 0.99.
  const emaDecay = opts.emaDecay ?? 0.995;
  const averaged = new MlpTrainer({ sizes, activations: acts }, Math.max(batch, numEnvs), trainer.toLayers());
  const updateAverage = (): void => {
    const d = Math.min(emaDecay, (1 + steps) / (10 + steps));
    const p = trainer.params;
    const a = averaged.params;
    for (let k = 0; k < p.length; k++) a[k] += (1 - d) * (p[k] - a[k]);
  };
  const objective = new Objective(spec);
  const gaussian = objective.gaussian;
  const adamStd = new Adam(objective.studentLogStd.length, { lr });
  if (startModel?.head.kind === 'continuous' && startModel.head.logStd && startModel.head.logStd.length === objective.studentLogStd.length) {
    objective.studentLogStd.set(startModel.head.logStd);
  }
  const head = () => studentHead(spec, gaussian ? objective.studentLogStd : null);
  if (resume) {
    // The trainer's initialization drew from rng; the checkpoint's rng state replaces that.
    trainer.params.set(resume.params);
    averaged.params.set(resume.averaged);
    for (const [o, st] of [[adam, resume.adam], [adamStd, resume.adamStd]] as const) {
      o.m.set(st.m);
      o.v.set(st.v);
      o.t = st.t;
      o.lr = st.lr;
    }
    objective.studentLogStd.set(resume.logStd);
    rng.setState(resume.rng);
  }
  const xb = new Float32Array(batch * obsDim);
  const tb = new Float32Array(batch * spec.targetDim);
  const grad = new Float32Array(batch * outDim);

  const trainStep = (): void => {
    train.sample(rng, batch, xb, tb, norm.mean, norm.std);
    const y = trainer.forward(xb, batch);
    objective.loss(tb, y, batch, grad, gaussian);
    trainer.backward(grad);
    adam.step(trainer.params, trainer.grads);
    if (gaussian) adamStd.step(objective.studentLogStd, objective.gradLogStd);
    steps++;
    updateAverage();
  };

  // Held-out rows, normalized once (the normalization is fixed from here on).
  const H = heldOut.size;
  const xh = new Float32Array(H * obsDim);
  // normalizeRows does not clip: an init student whose normalization clips is applied by the IR.
  normalizeRows(heldOut.obs, H, obsDim, norm.mean, norm.std, xh);
  const yh = new Float32Array(H * outDim);
  const heldOutMetrics = () => objective.heldOut(averaged.predict(xh, H, yh), heldOut.targets, heldOut.actions, H);

  // Student as an actor on raw observations (DAgger rounds, return checks): the averaged net's
  // forward pass, which is the IR's maths (the final report runs the IR itself).
  let xa = new Float32Array(0);
  let ya = new Float32Array(0);
  const studentActor: StudentActor = (obs, n) => {
    if (xa.length < n * obsDim) {
      xa = new Float32Array(n * obsDim);
      ya = new Float32Array(n * outDim);
    }
    normalizeRows(obs, n, obsDim, norm.mean, norm.std, xa);
    return objective.actions(averaged.predict(xa, n, ya), n);
  };

  // Baselines on the evaluation seeds.
  const modelPolicy =
    (model: PolicyModel): BatchPolicy =>
    (obs, n) => {
      const y = forward(model, obs, n);
      return out.kind === 'discrete' ? Int32Array.from({ length: n }, (_, r) => argmaxRow(y, r, outDim)) : y;
    };
  let teacherReturn: ReturnSummary | null = null;
  let randomReturn: ReturnSummary | null = null;
  if (resume) {
    teacherReturn = resume.baselines.teacher as ReturnSummary | null;
    randomReturn = resume.baselines.random as ReturnSummary | null;
  } else if (envId !== null && actionSpace !== null) {
    const space = actionSpace;
    teacherReturn = await timed('baselines', () => evaluateReturns(envId, async (obs, n) => (await label(obs, n)).actions, episodes, evalSeed, envOptions));
    randomReturn = await timed('baselines', () => evaluateReturns(envId, randomPolicy(space, seed + 1), episodes, evalSeed, envOptions));
  }
  const retentionOf = (s: ReturnSummary): number | null => {
    if (!teacherReturn || !randomReturn) return null;
    const gap = teacherReturn.mean - randomReturn.mean;
    return gap > 0 ? (s.mean - randomReturn.mean) / gap : null;
  };

  // 4. Train: rounds of gradient steps with held-out checks, DAgger data between rounds.
  const agreementTarget = out.kind === 'discrete' ? (opts.target?.agreement ?? 0.99) : null;
  let actionErrorTarget =
    resume?.actionErrorTarget ?? (out.kind === 'continuous' ? (opts.target?.actionError ?? 0.01 * meanRange(out.low, out.high)) : null);
  const retentionTarget = envId !== null ? (opts.target?.retention ?? 0.99) : null;
  const curve: CurvePoint[] = resume ? (resume.curve as CurvePoint[]).slice() : [];
  const betas: number[] = resume ? resume.betas.slice() : [1];
  let steps = resume?.steps ?? 0;
  let round = resume?.round ?? 0;
  const resumedFrom = resume ? { round: resume.round, samples: resume.samples } : null;
  let stopReason: DistillReport['stopReason'] | null = null;
  let studentReturn: ReturnSummary | null = null;
  let lastRetention: number | null = null;
  let secondsToTarget: number | null = null;
  let samplesToTarget: number | null = null;
  let metrics = heldOutMetrics();
  let init: InitReport | null = null;
  if (initFrom && startModel) {
    // Step 0: the trainer's predictions against the given model's own forward pass on the held-out states.
    const ref = forward(initFrom, heldOut.obs.subarray(0, H * obsDim), H);
    const mine = averaged.predict(xh, H, new Float32Array(H * outDim));
    let maxAbsDiff = 0;
    for (let k = 0; k < H * outDim; k++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(ref[k] - mine[k]));
    const initReturn = envId !== null ? await timed('checks', () => evaluateReturns(envId, modelPolicy(initFrom), episodes, evalSeed, envOptions)) : null;
    init = {
      from: opts.initFromName ?? null,
      maxAbsDiffAtStep0: maxAbsDiff,
      agreement: metrics.agreement,
      actionError: metrics.actionError,
      return: initReturn,
      returnRetention: initReturn ? retentionOf(initReturn) : null,
      normalizationFolded: startModel.obsNorm !== initFrom.obsNorm,
    };
  }
  let bestLoss = resume?.bestLoss ?? Infinity;
  let sinceBest = resume?.sinceBest ?? 0;
  const cardBase = () => ({
    source: 'distill',
    env: envId,
    ...(envOptions ? { envOptions } : {}),
    ...(initFrom ? { initFrom: opts.initFromName ?? 'in-memory student' } : {}),
    teacher: teachers.map((t) => ({ file: t.file ?? null, sha256: t.sha256 ?? null })),
    loss: spec.loss,
    tau: out.kind === 'discrete' && spec.loss === 'kl' ? spec.tau : null,
    data: online ? { mode: 'dagger', rounds: round + 1, betaDecay, transitions } : { mode: 'offline', states: transitions },
    steps,
    samples: steps * batch,
    batchSize: batch,
    seed,
    backend: BACKEND,
  });
  const buildStudent = () => studentModel(averaged, norm, head(), taskId, cardBase());

  const saveCheckpoint = async (): Promise<void> => {
    const c = opts.checkpoint as { file: string; every: number };
    const adamState = (o: Adam) => ({ m: o.m, v: o.v, t: o.t, lr: o.lr });
    await writeDistillCheckpoint(c.file, {
      fingerprint,
      round,
      steps,
      samples: steps * batch,
      elapsedSeconds: now() - t0,
      rng: rng.getState(),
      params: trainer.params,
      averaged: averaged.params,
      adam: adamState(adam),
      adamStd: adamState(adamStd),
      logStd: objective.studentLogStd,
      norm: { mean: norm.mean, std: norm.std },
      train: train.state(),
      heldOut: heldOut.state(),
      heldOutSeed,
      transitions,
      betas,
      bestLoss: Number.isFinite(bestLoss) ? bestLoss : null,
      sinceBest,
      actionErrorTarget,
      timing,
      baselines: { teacher: teacherReturn, random: randomReturn },
      curve,
    });
  };
  const every = opts.checkpoint ? Math.max(1, Math.floor(opts.checkpoint.every)) : 0;

  while (stopReason === null) {
    // At a round's start (its data collected, no step of it taken): the state is small and complete.
    if (every > 0 && round % every === 0 && round !== resumedFrom?.round) await saveCheckpoint();
    let retentionChecked = false;
    for (let k = 0; k < trainStepsPerRound && stopReason === null; k += checkEvery) {
      const tTrain = now();
      for (let s = 0; s < checkEvery; s++) trainStep();
      const tCheck = now();
      timing.train += tCheck - tTrain;
      metrics = heldOutMetrics();
      timing.checks += now() - tCheck;
      // Reduce-on-plateau: agreement near 1 needs the boundary states fitted precisely, which a
      // constant step size keeps shaking.
      if (metrics.loss < bestLoss * 0.99) {
        bestLoss = metrics.loss;
        sinceBest = 0;
      } else if (lrPatience > 0 && ++sinceBest >= lrPatience) {
        adam.lr = Math.max(minLr, adam.lr / 2);
        adamStd.lr = adam.lr;
        sinceBest = 0;
      }
      const seconds = now() - t0;
      curve.push({ samples: steps * batch, round, ...metrics, lr: adam.lr, seconds });
      opts.onProgress?.({ round, beta: betas[round], samples: steps * batch, ...metrics, lr: adam.lr, seconds });
      const heldOk =
        out.kind === 'discrete' ? (metrics.agreement as number) >= (agreementTarget as number) : (metrics.actionError as number) <= (actionErrorTarget as number);
      if (heldOk && !retentionChecked) {
        if (retentionTarget === null) {
          stopReason = 'targets';
        } else {
          studentReturn = await timed('checks', () => evaluateReturns(envId as string, studentActor, episodes, evalSeed, envOptions));
          lastRetention = retentionOf(studentReturn);
          curve[curve.length - 1].retention = lastRetention;
          if (lastRetention === null || lastRetention >= retentionTarget) stopReason = 'targets';
          else {
            // Held-out target met but returns not: train on more (student-driven) data first,
            // and ask for a closer match on continuous actions.
            retentionChecked = true;
            if (actionErrorTarget !== null) actionErrorTarget /= 2;
          }
        }
        if (stopReason === 'targets') {
          secondsToTarget = now() - t0;
          samplesToTarget = steps * batch;
        }
      }
      if (stopReason === null && steps * batch >= maxSamples) stopReason = 'samples';
      if (stopReason === null && now() - t0 >= maxSeconds) stopReason = 'seconds';
    }
    if (stopReason !== null) break;
    round++;
    if (online && round < maxRounds) {
      const beta = Math.pow(betaDecay, round);
      betas.push(beta);
      transitions += await timed('data', () => collectRollouts({
        vec: vec as VectorEnv,
        seed: seedBase + round * numEnvs,
        steps: stepsPerRound,
        beta,
        rng,
        label,
        student: studentActor,
        sink: (o, l, n) => train.add(o, l.targets, l.actions, n),
      }));
    } else {
      betas.push(betas[betas.length - 1]);
      if (online && round >= maxRounds * 4) stopReason = 'rounds';
    }
  }

  // 5. Report.
  const student = buildStudent();
  if (envId !== null) {
    studentReturn = await evaluateReturns(envId, modelPolicy(student), episodes, evalSeed, envOptions);
    lastRetention = retentionOf(studentReturn);
  }
  const sParams = mlpParamCount(sizes);
  const wallSeconds = now() - t0;
  // Judged on the final numbers (the shipped IR model's returns), not only on why training stopped.
  const heldOutMet =
    out.kind === 'discrete' ? (metrics.agreement as number) >= (agreementTarget as number) : (metrics.actionError as number) <= (actionErrorTarget as number);
  const targetsMet = heldOutMet && (retentionTarget === null || lastRetention === null || lastRetention >= retentionTarget);
  const report: DistillReport = {
    env: envId,
    mode: online ? 'online' : 'offline',
    teacher: {
      files: teachers.map((t) => t.file ?? 'in-memory'),
      sha256: teachers.map((t) => t.sha256 ?? null),
      outputKind: teachers[0].outputKind,
      params: teacherParamCount,
      return: teacherReturn,
    },
    student: {
      hidden,
      activation: hiddenAct,
      params: sParams,
      paramRatio: teacherParamCount ? sParams / teacherParamCount : null,
      return: studentReturn,
    },
    random: { return: randomReturn },
    agreement: metrics.agreement,
    actionError: metrics.actionError,
    returnRetention: lastRetention,
    targets: { agreement: agreementTarget, actionError: actionErrorTarget, retention: retentionTarget },
    targetsMet,
    stopReason: stopReason as DistillReport['stopReason'],
    loss: spec.loss,
    tau: out.kind === 'discrete' && spec.loss === 'kl' ? spec.tau : null,
    seed,
    batchSize: batch,
    lr,
    samples: steps * batch,
    gradientSteps: steps,
    transitions,
    rounds: round + 1,
    betas,
    heldOut: { states: H, seed: heldOutSeed },
    wallSeconds,
    timing,
    secondsToTarget,
    samplesToTarget,
    backend: BACKEND,
    curve,
    resumedFrom,
    envOptions: envOptions ?? null,
    init,
  };
  const card = {
    ...student.card,
    data: online
      ? { mode: 'dagger', rounds: round + 1, betas, transitions, heldOut: H }
      : { mode: 'offline', file: typeof opts.observations === 'string' ? opts.observations : null, states: transitions, heldOut: H },
    agreement: report.agreement,
    actionError: report.actionError,
    returnRetention: report.returnRetention,
    wallSeconds,
  };
  return { student: { ...student, card }, report };
}

function meanRange(low: Float32Array, high: Float32Array): number {
  let s = 0;
  for (let j = 0; j < low.length; j++) s += high[j] - low[j];
  return s / low.length;
}
