/**
 * Multi-task distillation (Rusu et al. 2016, section 4.3): teachers of different environments into
 * one student with a shared trunk and one output head per task.
 *
 * The IR holds one head, so the result is a MultiTaskPolicy (below). Its input for task i is
 * [obs_i normalized with task i's statistics, zero-padded to the widest task, one-hot(i)]. Because
 * the padding and the one-hot only enter the first layer linearly, `taskPolicy(mt, i)` folds them
 * into that layer's weights and bias and returns an exact single-task IR PolicyModel, which every
 * exporter already handles.
 */
import { makeEnv, makeVectorEnv, type VectorEnv } from '@edgedistill/runtime/envs';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { forward } from '../ir/forward.js';
import type { DenseLayer, ObsNormalization, PolicyCard, PolicyHead, PolicyModel } from '../ir/types.js';
import { Adam } from './adam.js';
import { BACKEND } from './distill.js';
import { evaluateReturns, randomPolicy, type ReturnSummary } from './evaluate.js';
import { makeLabeler, makeLabelSpec, type LabelSpec, type LossName } from './labels.js';
import { argmaxRow } from './losses.js';
import { MlpTrainer, type TrainActivation } from './mlp-train.js';
import { normalizeRows, Objective, type HeldOutMetrics } from './objective.js';
import { DistillBuffer } from './replay.js';
import { Rng } from './rng.js';
import { collectRollouts, type Labeler, type StudentActor } from './rollouts.js';
import { observationStats, studentHead } from './student.js';
import { describeTeacher, openTeacher, teacherParams, type TeacherLike } from './teacher.js';

export interface TaskHead {
  readonly envId: string;
  readonly obsDim: number;
  readonly obsNorm: ObsNormalization;
  /** Trunk output -> this task's outputs (no activation). */
  readonly layer: DenseLayer;
  readonly head: PolicyHead;
}

export interface MultiTaskPolicy {
  readonly kind: 'multi-task';
  /** Widest task observation; narrower ones are zero-padded. */
  readonly maxObsDim: number;
  /** maxObsDim + number of tasks (the one-hot task indicator). */
  readonly inputDim: number;
  /** Shared hidden layers. */
  readonly trunk: readonly DenseLayer[];
  readonly tasks: readonly TaskHead[];
  readonly card: PolicyCard;
}

/** Parameters of the whole multi-task student (trunk + every head). */
export function multiTaskParamCount(mt: MultiTaskPolicy): number {
  let n = 0;
  for (const l of mt.trunk) n += l.weight.length + l.bias.length;
  for (const t of mt.tasks) n += t.layer.weight.length + t.layer.bias.length;
  return n;
}

/** The exact single-task IR policy for task i (padding and one-hot folded into the first layer). */
export function taskPolicy(mt: MultiTaskPolicy, i: number): PolicyModel {
  const task = mt.tasks[i];
  if (!task) throw new EdgeDistillError('BAD_ARGUMENT', `task ${i} does not exist (0..${mt.tasks.length - 1})`, { field: 'task' });
  const first = mt.trunk[0];
  const weight = new Float32Array(first.outDim * task.obsDim);
  const bias = new Float32Array(first.outDim);
  for (let o = 0; o < first.outDim; o++) {
    for (let k = 0; k < task.obsDim; k++) weight[o * task.obsDim + k] = first.weight[o * mt.inputDim + k];
    bias[o] = Math.fround(first.bias[o] + first.weight[o * mt.inputDim + mt.maxObsDim + i]);
  }
  const layers: DenseLayer[] = [
    { inDim: task.obsDim, outDim: first.outDim, weight, bias, activation: first.activation },
    ...mt.trunk.slice(1).map((l) => ({ ...l, weight: l.weight.slice(), bias: l.bias.slice() })),
    { ...task.layer, weight: task.layer.weight.slice(), bias: task.layer.bias.slice() },
  ];
  return {
    envId: task.envId,
    obsDim: task.obsDim,
    obsNorm: { mean: task.obsNorm.mean.slice(), std: task.obsNorm.std.slice(), clip: task.obsNorm.clip },
    layers,
    head: task.head,
    card: { ...mt.card, task: i, tasks: mt.tasks.map((t) => t.envId) },
  };
}

export interface MultiTaskOptions {
  /** One teacher per task; each task's environment must match its teacher's spaces. */
  tasks: readonly { teacher: TeacherLike | string; envId: string; loss?: LossName; tau?: number }[];
  /** Shared hidden sizes (default 64,64). */
  hidden?: readonly number[];
  seed?: number;
  /** Rows per gradient step, split evenly over the tasks. */
  batchSize?: number;
  lr?: number;
  emaDecay?: number;
  numEnvs?: number;
  rounds?: number;
  betaDecay?: number;
  trainStepsPerRound?: number;
  checkEvery?: number;
  heldOutStates?: number;
  target?: { agreement?: number; retention?: number; actionErrorFraction?: number };
  maxSamples?: number;
  maxSeconds?: number;
  episodes?: number;
  evalSeed?: number;
}

export interface TaskReport {
  env: string;
  teacher: { file: string; sha256: string | null; params: number | null; return: ReturnSummary };
  student: { return: ReturnSummary };
  random: { return: ReturnSummary };
  loss: LossName;
  agreement: number | null;
  actionError: number | null;
  returnRetention: number | null;
}

export interface MultiTaskReport {
  tasks: TaskReport[];
  hidden: number[];
  params: number;
  samples: number;
  gradientSteps: number;
  rounds: number;
  targetsMet: boolean;
  stopReason: 'targets' | 'samples' | 'seconds' | 'rounds';
  wallSeconds: number;
  backend: string;
  curve: { samples: number; tasks: HeldOutMetrics[]; seconds: number }[];
}

interface Task {
  envId: string;
  teacher: TeacherLike;
  spec: LabelSpec;
  objective: Objective;
  label: Labeler;
  vec: VectorEnv;
  obsDim: number;
  train: DistillBuffer;
  heldOut: DistillBuffer;
  norm: ObsNormalization;
  head: MlpTrainer;
  avgHead: MlpTrainer;
  adam: Adam;
  adamStd: Adam;
  rows: number;
  /** Vector steps per DAgger round. */
  roundSteps: number;
  offset: number;
  tmp: Float32Array;
  tb: Float32Array;
  grad: Float32Array;
  xh: Float32Array;
  teacherReturn: ReturnSummary;
  randomReturn: ReturnSummary;
  actionErrorTarget: number | null;
}

export async function distillMultiTask(opts: MultiTaskOptions): Promise<{ policy: MultiTaskPolicy; report: MultiTaskReport }> {
  const opened: { dispose?: () => Promise<void> }[] = [];
  try {
    return await runMultiTask(opts, opened);
  } finally {
    for (const t of opened) await t.dispose?.();
  }
}

async function runMultiTask(opts: MultiTaskOptions, opened: { dispose?: () => Promise<void> }[]): Promise<{ policy: MultiTaskPolicy; report: MultiTaskReport }> {
  const t0 = performance.now() / 1000;
  const now = () => performance.now() / 1000 - t0;
  const T = opts.tasks.length;
  if (T < 2) throw new EdgeDistillError('BAD_ARGUMENT', 'multi-task distillation needs at least two tasks', { field: 'tasks' });
  const seed = opts.seed ?? 0;
  const rng = new Rng(seed);
  const hidden = [...(opts.hidden ?? [64, 64])];
  const batch = opts.batchSize ?? 256;
  const lr = opts.lr ?? 1e-2;
  const emaDecay = opts.emaDecay ?? 0.995;
  const numEnvs = opts.numEnvs ?? 32;
  const maxRounds = opts.rounds ?? 12;
  const betaDecay = opts.betaDecay ?? 0.5;
  const trainStepsPerRound = opts.trainStepsPerRound ?? 1000;
  const checkEvery = opts.checkEvery ?? 100;
  const heldOutStates = opts.heldOutStates ?? 4000;
  const agreementTarget = opts.target?.agreement ?? 0.99;
  const retentionTarget = opts.target?.retention ?? 0.99;
  const maxSamples = opts.maxSamples ?? 50_000_000;
  const maxSeconds = opts.maxSeconds ?? 900;
  const episodes = opts.episodes ?? 100;
  const evalSeed = opts.evalSeed ?? 0;
  const seedBase = 10_000 + (seed % 10_000) * 100_000;

  // Tasks: teacher, spaces, data.
  const proto: Omit<Task, 'head' | 'avgHead' | 'adam' | 'adamStd' | 'offset' | 'tmp' | 'tb' | 'grad' | 'xh'>[] = [];
  for (const [i, t] of opts.tasks.entries()) {
    let teacher: TeacherLike;
    if (typeof t.teacher === 'string') {
      const o = await openTeacher(t.teacher);
      opened.push(o);
      teacher = o;
    } else teacher = t.teacher;
    const env = makeEnv(t.envId);
    const out = describeTeacher(teacher, env.observationSpace, env.actionSpace, t.envId);
    const spec = makeLabelSpec([out], t.loss, t.tau);
    const label = makeLabeler([teacher], spec);
    const vec = makeVectorEnv(t.envId, numEnvs);
    const steps = Math.min(env.maxEpisodeSteps, 1000);
    const keepEvery = Math.max(1, Math.ceil((numEnvs * steps) / heldOutStates));
    const heldOut = new DistillBuffer(Math.ceil(steps / keepEvery) * numEnvs, teacher.obsDim, spec.targetDim, spec.actionDim);
    await collectRollouts({ vec, seed: seedBase + 90_000 + i * 1000, steps, beta: 1, rng, label, student: null, keepEvery, sink: (o, l, n) => heldOut.add(o, l.targets, l.actions, n) });
    const train = new DistillBuffer(500_000, teacher.obsDim, spec.targetDim, spec.actionDim);
    const roundSteps = Math.max(steps, Math.ceil(16_384 / numEnvs));
    await collectRollouts({ vec, seed: seedBase + i * 1000, steps: roundSteps, beta: 1, rng, label, student: null, sink: (o, l, n) => train.add(o, l.targets, l.actions, n) });
    const teacherReturn = await evaluateReturns(t.envId, async (obs, n) => (await label(obs, n)).actions, episodes, evalSeed);
    const randomReturn = await evaluateReturns(t.envId, randomPolicy(env.actionSpace, seed + 1), episodes, evalSeed);
    const objective = new Objective(spec);
    const rows = Math.max(1, Math.floor(batch / T) + (i < batch % T ? 1 : 0));
    const actionErrorTarget =
      out.kind === 'continuous' ? (opts.target?.actionErrorFraction ?? 0.01) * (out.high.reduce((a, h, j) => a + h - out.low[j], 0) / out.dim) : null;
    proto.push({
      envId: t.envId,
      teacher,
      spec,
      objective,
      label,
      vec,
      obsDim: teacher.obsDim,
      train,
      heldOut,
      norm: observationStats(train.obs, train.size, teacher.obsDim),
      rows,
      roundSteps,
      teacherReturn,
      randomReturn,
      actionErrorTarget,
    });
  }
  const maxObsDim = Math.max(...proto.map((p) => p.obsDim));
  const inputDim = maxObsDim + T;
  const B = proto.reduce((a, p) => a + p.rows, 0);
  const trunkSizes = [inputDim, ...hidden];
  const trunkActs: TrainActivation[] = hidden.map(() => 'relu');
  const maxRows = Math.max(B, numEnvs, episodes);
  const trunk = new MlpTrainer({ sizes: trunkSizes, activations: trunkActs }, maxRows, rng);
  const avgTrunk = new MlpTrainer({ sizes: trunkSizes, activations: trunkActs }, maxRows, trunk.toLayers());
  const adamTrunk = new Adam(trunk.params.length, { lr });
  const hLast = hidden[hidden.length - 1];
  let offset = 0;
  const tasks: Task[] = proto.map((p) => {
    const head = new MlpTrainer({ sizes: [hLast, p.objective.outDim], activations: ['none'] }, maxRows, rng);
    const task: Task = {
      ...p,
      head,
      avgHead: new MlpTrainer({ sizes: [hLast, p.objective.outDim], activations: ['none'] }, maxRows, head.toLayers()),
      adam: new Adam(head.params.length, { lr }),
      adamStd: new Adam(p.objective.studentLogStd.length, { lr }),
      offset,
      tmp: new Float32Array(p.rows * p.obsDim),
      tb: new Float32Array(p.rows * p.spec.targetDim),
      grad: new Float32Array(p.rows * p.objective.outDim),
      xh: new Float32Array(0),
    };
    offset += p.rows;
    return task;
  });
  const X = new Float32Array(B * inputDim);
  const dH = new Float32Array(B * hLast);

  /** Writes task i's normalized observations into rows of width inputDim (padding + one-hot). */
  const fillInputs = (task: Task, i: number, norm: Float32Array, n: number, dst: Float32Array, dstRow: number): void => {
    for (let r = 0; r < n; r++) {
      const o = (dstRow + r) * inputDim;
      for (let k = 0; k < inputDim; k++) dst[o + k] = 0;
      for (let k = 0; k < task.obsDim; k++) dst[o + k] = norm[r * task.obsDim + k];
      dst[o + maxObsDim + i] = 1;
    }
  };
  tasks.forEach((task, i) => {
    const H = task.heldOut.size;
    const normed = new Float32Array(H * task.obsDim);
    normalizeRows(task.heldOut.obs, H, task.obsDim, task.norm.mean, task.norm.std, normed);
    task.xh = new Float32Array(H * inputDim);
    fillInputs(task, i, normed, H, task.xh, 0);
  });

  let steps = 0;
  const ema = (src: Float32Array, dst: Float32Array): void => {
    const d = Math.min(emaDecay, (1 + steps) / (10 + steps));
    for (let k = 0; k < src.length; k++) dst[k] += (1 - d) * (src[k] - dst[k]);
  };
  const trainStep = (): void => {
    tasks.forEach((task, i) => {
      task.train.sample(rng, task.rows, task.tmp, task.tb, task.norm.mean, task.norm.std);
      fillInputs(task, i, task.tmp, task.rows, X, task.offset);
    });
    const Hs = trunk.forward(X, B);
    for (const task of tasks) {
      const y = task.head.forward(Hs.subarray(task.offset * hLast, (task.offset + task.rows) * hLast), task.rows);
      task.objective.loss(task.tb, y, task.rows, task.grad, task.objective.gaussian);
      // Total loss = mean over tasks of each task's mean loss.
      for (let k = 0; k < task.grad.length; k++) task.grad[k] /= T;
      task.head.backward(task.grad, dH.subarray(task.offset * hLast, (task.offset + task.rows) * hLast));
      task.adam.step(task.head.params, task.head.grads);
      if (task.objective.gaussian) task.adamStd.step(task.objective.studentLogStd, task.objective.gradLogStd);
    }
    trunk.backward(dH);
    adamTrunk.step(trunk.params, trunk.grads);
    steps++;
    ema(trunk.params, avgTrunk.params);
    for (const task of tasks) ema(task.head.params, task.avgHead.params);
  };

  /** Averaged student's raw outputs for task i on rows of width inputDim. */
  const outputs = (task: Task, x: Float32Array, n: number): Float32Array => {
    const h = avgTrunk.predict(x, n, new Float32Array(n * hLast));
    return task.avgHead.predict(h, n, new Float32Array(n * task.objective.outDim));
  };
  const actor = (task: Task, i: number): StudentActor => (obs, n) => {
    const normed = new Float32Array(n * task.obsDim);
    normalizeRows(obs, n, task.obsDim, task.norm.mean, task.norm.std, normed);
    const x = new Float32Array(n * inputDim);
    fillInputs(task, i, normed, n, x, 0);
    return task.objective.actions(outputs(task, x, n), n);
  };
  const metricsOf = (task: Task): HeldOutMetrics => task.objective.heldOut(outputs(task, task.xh, task.heldOut.size), task.heldOut.targets, task.heldOut.actions, task.heldOut.size);
  const retention = (task: Task, s: ReturnSummary): number | null => {
    const gap = task.teacherReturn.mean - task.randomReturn.mean;
    return gap > 0 ? (s.mean - task.randomReturn.mean) / gap : null;
  };

  const curve: MultiTaskReport['curve'] = [];
  let stopReason: MultiTaskReport['stopReason'] | null = null;
  let round = 0;
  let metrics = tasks.map(metricsOf);
  while (stopReason === null) {
    let checked = false;
    for (let k = 0; k < trainStepsPerRound && stopReason === null; k += checkEvery) {
      for (let s = 0; s < checkEvery; s++) trainStep();
      metrics = tasks.map(metricsOf);
      curve.push({ samples: steps * B, tasks: metrics, seconds: now() });
      const heldOk = tasks.every((t, i) =>
        t.actionErrorTarget === null ? (metrics[i].agreement as number) >= agreementTarget : (metrics[i].actionError as number) <= t.actionErrorTarget,
      );
      if (heldOk && !checked) {
        const rets = await Promise.all(tasks.map((t, i) => evaluateReturns(t.envId, actor(t, i), episodes, evalSeed)));
        if (tasks.every((t, i) => (retention(t, rets[i]) ?? 1) >= retentionTarget)) stopReason = 'targets';
        else {
          checked = true;
          for (const t of tasks) if (t.actionErrorTarget !== null) t.actionErrorTarget /= 2;
        }
      }
      if (stopReason === null && steps * B >= maxSamples) stopReason = 'samples';
      if (stopReason === null && now() >= maxSeconds) stopReason = 'seconds';
    }
    if (stopReason !== null) break;
    round++;
    if (round < maxRounds) {
      const beta = Math.pow(betaDecay, round);
      for (const [i, task] of tasks.entries()) {
        await collectRollouts({
          vec: task.vec,
          seed: seedBase + i * 1000 + round * numEnvs,
          steps: task.roundSteps,
          beta,
          rng,
          label: task.label,
          student: actor(task, i),
          sink: (o, l, n) => task.train.add(o, l.targets, l.actions, n),
        });
      }
    } else if (round >= maxRounds * 4) stopReason = 'rounds';
  }

  const card: PolicyCard = {
    source: 'distill-multi-task',
    tasks: tasks.map((t) => ({ env: t.envId, teacher: { file: t.teacher.file ?? null, sha256: t.teacher.sha256 ?? null }, loss: t.spec.loss })),
    steps,
    samples: steps * B,
    seed,
    backend: BACKEND,
  };
  const policy: MultiTaskPolicy = {
    kind: 'multi-task',
    maxObsDim,
    inputDim,
    trunk: avgTrunk.toLayers(),
    tasks: tasks.map((t) => ({
      envId: t.envId,
      obsDim: t.obsDim,
      obsNorm: t.norm,
      layer: t.avgHead.toLayers()[0],
      head: studentHead(t.spec, t.objective.gaussian ? t.objective.studentLogStd : null),
    })),
    card,
  };
  const taskReports: TaskReport[] = [];
  for (const [i, t] of tasks.entries()) {
    const model = taskPolicy(policy, i);
    const studentReturn = await evaluateReturns(t.envId, (obs, n) => {
      const y = forward(model, obs, n);
      return t.spec.out.kind === 'discrete' ? Int32Array.from({ length: n }, (_, r) => argmaxRow(y, r, t.objective.outDim)) : y;
    }, episodes, evalSeed);
    taskReports.push({
      env: t.envId,
      teacher: { file: t.teacher.file ?? 'in-memory', sha256: t.teacher.sha256 ?? null, params: teacherParams(t.teacher), return: t.teacherReturn },
      student: { return: studentReturn },
      random: { return: t.randomReturn },
      loss: t.spec.loss,
      agreement: metrics[i].agreement,
      actionError: metrics[i].actionError,
      returnRetention: retention(t, studentReturn),
    });
  }
  return {
    policy,
    report: {
      tasks: taskReports,
      hidden,
      params: multiTaskParamCount(policy),
      samples: steps * B,
      gradientSteps: steps,
      rounds: round + 1,
      targetsMet: stopReason === 'targets',
      stopReason: stopReason as MultiTaskReport['stopReason'],
      wallSeconds: now(),
      backend: BACKEND,
      curve,
    },
  };
}
