/**
 * PPO (clipped objective), CleanRL-style, for discrete (categorical) and continuous (diagonal
 * Gaussian with a state-independent log std) actions, on N lock-stepped envs. Optional running
 * observation normalization is baked into the exported IR's obsNorm; optional reward scaling
 * (by the running std of the discounted return, as SB3's VecNormalize) only affects training.
 */
import type { PolicyModel } from '../ir/types.js';
import { EnvPool } from './envpool.js';
import {
  applyGradients,
  RunningMeanStd,
  categoricalEntropy,
  categoricalLogProb,
  clipByGlobalNorm,
  clippedSurrogateLoss,
  explainedVariance,
  gae,
  gaussianEntropy,
  gaussianLogProb,
  normalize,
  normalizeObs,
  valueLoss,
} from './math.js';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { type Mlp, forward, makeMlp, mlpFromDense, parameterCount, predict, toDenseLayers, variables } from './nn.js';
import { Rng } from './rng.js';
import { RunContext, type RunOptions, type TrainOutput } from './run.js';
import { tf } from './backend.js';

export interface PpoHyper {
  /** Total environment steps, summed over all envs. */
  totalSteps: number;
  /** Number of parallel environments. */
  numEnvs: number;
  /** Steps per env per rollout (the rollout is numEnvs * numSteps transitions). */
  numSteps: number;
  /** Adam learning rate (start value when annealed). */
  learningRate: number;
  /** Linearly decay the learning rate to 0 over training. */
  annealLr: boolean;
  /** Discount factor. */
  gamma: number;
  /** GAE lambda. */
  gaeLambda: number;
  /** Minibatch size (the rollout is split into rollout / minibatchSize minibatches). */
  minibatchSize: number;
  /** Passes over each rollout. */
  updateEpochs: number;
  /** Normalize advantages per minibatch. */
  normAdv: boolean;
  /** Surrogate clipping coefficient. */
  clipCoef: number;
  /** Clip the value loss around the old values (PPO2); null: no clipping. */
  clipVloss: number | null;
  /** Entropy bonus coefficient. */
  entCoef: number;
  /** Value loss coefficient. */
  vfCoef: number;
  /** Global gradient-norm clip. */
  maxGradNorm: number;
  /** Stop the epochs of an update when the approximate KL exceeds this (null: never). */
  targetKl: number | null;
  /** Normalize observations with running mean/std (exported as the IR's obsNorm). */
  normObs: boolean;
  /** Clip normalized observations to +-this. */
  obsClip: number;
  /** Scale rewards by the running std of the discounted return (training only). */
  normReward: boolean;
  /** Hidden activation of actor and critic. */
  activation: 'tanh' | 'relu';
  /** Critic hidden layers (the critic is not shipped, so it may be smaller than the actor). */
  criticHidden: number[];
  /** Initial log std of the Gaussian policy (continuous actions). */
  logStdInit: number;
  /** Adam learning rate of the actor (and log std); null: `learningRate` (the critic always uses `learningRate`). */
  actorLearningRate: number | null;
  /**
   * Critic warm-up: for the first this many rollouts only the value network is trained (the actor
   * and log std are frozen), so a fine-tuned actor's first updates see advantages of a fitted critic.
   */
  warmupRollouts: number;
}

export const PPO_DEFAULTS: PpoHyper = {
  totalSteps: 100_000,
  numEnvs: 8,
  numSteps: 32,
  learningRate: 1e-3,
  annealLr: true,
  gamma: 0.98,
  gaeLambda: 0.8,
  minibatchSize: 256,
  updateEpochs: 20,
  normAdv: true,
  clipCoef: 0.2,
  clipVloss: null,
  entCoef: 0.0,
  vfCoef: 0.5,
  maxGradNorm: 0.5,
  targetKl: null,
  normObs: false,
  obsClip: 10,
  normReward: false,
  activation: 'tanh',
  criticHidden: [64, 64],
  logStdInit: 0,
  actorLearningRate: null,
  warmupRollouts: 0,
};

export async function trainPpo(opts: RunOptions, hp: PpoHyper): Promise<TrainOutput> {
  // Derived values.
  const batchSize = hp.numEnvs * hp.numSteps;
  const numUpdates = Math.max(1, Math.floor(hp.totalSteps / batchSize));
  const minibatch = Math.min(hp.minibatchSize, batchSize);

  // Seeding: one JS stream for sampling/init; env i reset with seed + i.
  const rng = new Rng(opts.seed);
  const pool = new EnvPool(opts.envId, hp.numEnvs, opts.seed, opts.envOptions);
  const env = pool.env;
  const obsDim = pool.obsDim;
  const space = env.actionSpace;
  const discrete = space.kind === 'discrete';
  const actDim = space.kind === 'discrete' ? 1 : space.low.length;
  const nOut = space.kind === 'discrete' ? space.n : actDim;

  // Networks: CleanRL's orthogonal init (sqrt 2 hidden, 0.01 policy head, 1 value head).
  const init = (outGain: number) => ({ kind: 'orthogonal' as const, hiddenGain: Math.SQRT2, outGain });
  // Fine-tuning starts the actor from a student's weights; its input normalization stays fixed.
  const start = opts.initActor ?? null;
  if (start) checkInitActor(start, obsDim, space, opts.envId);
  const fixedNorm = start?.obsNorm ?? null;
  const actor: Mlp = start ? mlpFromDense(start.layers) : makeMlp([obsDim, ...opts.hidden, nOut], hp.activation, init(0.01), rng);
  const critic: Mlp = makeMlp([obsDim, ...hp.criticHidden, 1], hp.activation, init(1), rng);
  const startLogStd = start?.head.kind === 'continuous' ? start.head.logStd : undefined;
  const logStd = startLogStd ? tf.variable(tf.tensor1d(Float32Array.from(startLogStd))) : tf.variable(tf.fill([actDim], hp.logStdInit));
  const trainVars = [...variables(actor), ...variables(critic), ...(discrete ? [] : [logStd])];
  const criticVars = variables(critic);
  const criticNames = new Set(criticVars.map((v) => v.name));
  // Two Adams (Adam is per parameter, so with equal rates this is the single-optimizer update):
  // the actor may learn slower than the critic, and the warm-up steps the critic alone.
  const actorLr0 = hp.actorLearningRate ?? hp.learningRate;
  const actorOpt = tf.train.adam(actorLr0, 0.9, 0.999, 1e-5);
  const criticOpt = tf.train.adam(hp.learningRate, 0.9, 0.999, 1e-5);
  if (!(Number.isInteger(hp.warmupRollouts) && hp.warmupRollouts >= 0)) {
    throw new EdgeDistillError('BAD_ARGUMENT', `warmupRollouts takes a whole number >= 0, got ${hp.warmupRollouts}`, { field: '--warmup-rollouts' });
  }
  if (!(Number.isFinite(actorLr0) && actorLr0 >= 0)) {
    throw new EdgeDistillError('BAD_ARGUMENT', `the actor learning rate must be a number >= 0, got ${actorLr0}`, { field: '--finetune-lr' });
  }
  const obsRms = new RunningMeanStd(obsDim);
  const retRms = new RunningMeanStd(1);
  const discounted = new Float64Array(hp.numEnvs);

  const normObs = (raw: Float32Array): Float32Array =>
    fixedNorm
      ? normalizeObs(raw, fixedNorm.mean, fixedNorm.std, fixedNorm.clip)
      : hp.normObs
        ? normalizeObs(raw, obsRms.mean, obsRms.std(), hp.obsClip)
        : raw;

  const snapshot = (): PolicyModel => ({
    envId: opts.envId,
    obsDim,
    obsNorm: fixedNorm
      ? { mean: Float32Array.from(fixedNorm.mean), std: Float32Array.from(fixedNorm.std), clip: fixedNorm.clip }
      : hp.normObs
        ? { mean: Float32Array.from(obsRms.mean), std: obsRms.std(), clip: hp.obsClip }
        : null,
    layers: toDenseLayers(actor),
    head:
      space.kind === 'discrete'
        ? { kind: 'discrete', output: 'logits', n: space.n }
        : {
            kind: 'continuous',
            dim: actDim,
            squash: 'none',
            low: Float32Array.from(space.low),
            high: Float32Array.from(space.high),
            logStd: Float32Array.from(logStd.dataSync()),
          },
    card: { algorithm: 'ppo', ...(start ? { finetunedFrom: start.card?.file ?? start.card?.source ?? 'student' } : {}) },
  });

  // Rollout storage, index t * numEnvs + i.
  const obsBuf = new Float32Array(batchSize * obsDim);
  const actBuf = new Float32Array(batchSize * actDim);
  const logpBuf = new Float32Array(batchSize);
  const rewBuf = new Float32Array(batchSize);
  const doneBuf = new Float32Array(batchSize);
  const valBuf = new Float32Array(batchSize);

  const ctx = new RunContext(opts, numUpdates * batchSize);
  let step = 0;
  let gradSteps = 0;
  let rawObs = pool.current();
  if (hp.normObs) obsRms.update(rawObs, hp.numEnvs);
  // The starting policy is a checkpoint too (fine-tuning: the student as it came in).
  if (opts.selectAtStart) ctx.selectNow(snapshot(), 0);

  for (let update = 0; update < numUpdates; update++) {
    const frac = hp.annealLr ? 1 - update / numUpdates : 1;
    const lr = hp.learningRate * frac;
    (criticOpt as unknown as { learningRate: number }).learningRate = lr;
    (actorOpt as unknown as { learningRate: number }).learningRate = actorLr0 * frac;
    const warmup = update < hp.warmupRollouts;

    // 1. Rollout.
    const std = discrete ? null : Float32Array.from(logStd.dataSync(), Math.exp);
    for (let t = 0; t < hp.numSteps; t++) {
      const obs = normObs(rawObs);
      const out = predict(actor, obs, hp.numEnvs);
      const values = predict(critic, obs, hp.numEnvs);
      const actions: (number | Float32Array)[] = [];
      for (let i = 0; i < hp.numEnvs; i++) {
        const k = t * hp.numEnvs + i;
        if (space.kind === 'discrete') {
          const row = out.subarray(i * nOut, (i + 1) * nOut);
          const { a, logp } = sampleCategorical(row, rng);
          actBuf[k] = a;
          logpBuf[k] = logp;
          actions.push(a + space.start);
        } else {
          const mean = out.subarray(i * nOut, (i + 1) * nOut);
          const a = new Float32Array(actDim);
          let logp = 0;
          for (let j = 0; j < actDim; j++) {
            const z = rng.normal();
            a[j] = mean[j] + std![j] * z;
            logp += -0.5 * z * z - Math.log(std![j]) - 0.5 * Math.log(2 * Math.PI);
          }
          actBuf.set(a, k * actDim);
          logpBuf[k] = logp;
          // The env gets the action clipped to the box; the buffer keeps the sample (as SB3).
          actions.push(a.map((v, j) => Math.min(space.high[j], Math.max(space.low[j], v))));
        }
        valBuf[k] = values[i];
      }
      obsBuf.set(obs, t * hp.numEnvs * obsDim);
      const r = pool.step(actions);
      step += hp.numEnvs;
      rawObs = r.obs;
      if (hp.normObs) obsRms.update(rawObs, hp.numEnvs);
      // Truncated episodes bootstrap from V(final obs) through the reward (as SB3).
      const truncIdx = [...r.truncated.keys()].filter((i) => r.truncated[i]);
      let bootstrap: Float32Array | null = null;
      if (truncIdx.length > 0) {
        const fin = new Float32Array(truncIdx.length * obsDim);
        truncIdx.forEach((i, j) => fin.set(r.finalObs.subarray(i * obsDim, (i + 1) * obsDim), j * obsDim));
        bootstrap = predict(critic, normObs(fin), truncIdx.length);
      }
      for (let i = 0; i < hp.numEnvs; i++) {
        const k = t * hp.numEnvs + i;
        let rew = r.rewards[i];
        if (hp.normReward) {
          discounted[i] = discounted[i] * hp.gamma + rew;
          retRms.update([discounted[i]], 1);
          rew = Math.max(-10, Math.min(10, rew / Math.sqrt(retRms.var[0] + 1e-8)));
        }
        const ended = r.terminated[i] || r.truncated[i];
        if (r.truncated[i]) rew += hp.gamma * bootstrap![truncIdx.indexOf(i)];
        if (ended) discounted[i] = 0;
        rewBuf[k] = rew;
        doneBuf[k] = ended ? 1 : 0;
      }
      for (const e of r.episodes) ctx.episode(step, e.ret, e.len);
    }
    const lastValues = predict(critic, normObs(rawObs), hp.numEnvs);
    const { advantages, returns } = gae(rewBuf, valBuf, doneBuf, lastValues, hp.numSteps, hp.numEnvs, hp.gamma, hp.gaeLambda);

    // 2. Optimize the policy and value networks.
    const idx = Int32Array.from({ length: batchSize }, (_, i) => i);
    let stats = { pg: 0, v: 0, ent: 0, kl: 0, clipfrac: 0, n: 0 };
    epochs: for (let epoch = 0; epoch < hp.updateEpochs; epoch++) {
      rng.shuffle(idx);
      for (let s = 0; s + minibatch <= batchSize; s += minibatch) {
        const mb = idx.subarray(s, s + minibatch);
        const mbObs = gatherRows(obsBuf, mb, obsDim);
        const mbAct = gatherRows(actBuf, mb, actDim);
        let mbAdv = gatherRows(advantages, mb, 1);
        if (hp.normAdv) mbAdv = normalize(mbAdv);
        const mbRet = gatherRows(returns, mb, 1);
        const mbLogp = gatherRows(logpBuf, mb, 1);
        const mbVal = gatherRows(valBuf, mb, 1);
        const m = minibatch;
        let info = { pg: 0, v: 0, ent: 0, kl: 0, clipfrac: 0 };
        tf.tidy(() => {
          const x = tf.tensor2d(mbObs, [m, obsDim]);
          const a = discrete ? tf.tensor1d(mbAct) : tf.tensor2d(mbAct, [m, actDim]);
          const adv = tf.tensor1d(mbAdv);
          const ret = tf.tensor1d(mbRet);
          const oldLogp = tf.tensor1d(mbLogp);
          const oldV = tf.tensor1d(mbVal);
          let parts: tf.Scalar[] = [];
          let ratioT: tf.Tensor1D | null = null;
          const { grads } = tf.variableGrads(() => {
            const out = forward(actor, x);
            const newLogp = discrete
              ? categoricalLogProb(out, a as tf.Tensor1D)
              : gaussianLogProb(out, logStd as tf.Tensor, a as tf.Tensor2D);
            const entropy = discrete ? tf.mean(categoricalEntropy(out)) : gaussianEntropy(logStd as tf.Tensor as tf.Tensor1D);
            const ratio = tf.exp(tf.sub(newLogp, oldLogp)) as tf.Tensor1D;
            ratioT = tf.keep(ratio);
            const pg = clippedSurrogateLoss(ratio, adv, hp.clipCoef);
            const v = tf.reshape(forward(critic, x), [m]) as tf.Tensor1D;
            const vl = valueLoss(v, ret, oldV, hp.clipVloss);
            parts = [tf.keep(pg), tf.keep(vl), tf.keep(entropy as tf.Scalar)];
            return tf.add(tf.sub(pg, tf.mul(hp.entCoef, entropy)), tf.mul(hp.vfCoef, vl)) as tf.Scalar;
          }, warmup ? criticVars : trainVars);
          const clipped = clipByGlobalNorm(grads, hp.maxGradNorm);
          const actorGrads: tf.NamedTensorMap = {};
          const criticGrads: tf.NamedTensorMap = {};
          for (const [k, g] of Object.entries(clipped.grads)) (criticNames.has(k) ? criticGrads : actorGrads)[k] = g;
          if (Object.keys(actorGrads).length > 0) applyGradients(actorOpt, actorGrads);
          applyGradients(criticOpt, criticGrads);
          const ratio = ratioT!.dataSync();
          let kl = 0;
          let cf = 0;
          for (const rr of ratio) {
            kl += rr - 1 - Math.log(rr);
            if (Math.abs(rr - 1) > hp.clipCoef) cf++;
          }
          info = {
            pg: parts[0].dataSync()[0],
            v: parts[1].dataSync()[0],
            ent: parts[2].dataSync()[0],
            kl: kl / ratio.length,
            clipfrac: cf / ratio.length,
          };
        });
        gradSteps++;
        stats = {
          pg: stats.pg + info.pg,
          v: stats.v + info.v,
          ent: stats.ent + info.ent,
          kl: stats.kl + info.kl,
          clipfrac: stats.clipfrac + info.clipfrac,
          n: stats.n + 1,
        };
        if (hp.targetKl !== null && info.kl > hp.targetKl) break epochs;
      }
    }
    const n = Math.max(1, stats.n);
    ctx.metrics(step, {
      'charts/learning_rate': lr,
      'charts/actor_learning_rate': warmup ? 0 : actorLr0 * frac,
      'losses/policy_loss': stats.pg / n,
      'losses/value_loss': stats.v / n,
      'losses/entropy': stats.ent / n,
      'losses/approx_kl': stats.kl / n,
      'losses/clipfrac': stats.clipfrac / n,
      'losses/explained_variance': explainedVariance(valBuf, returns),
      'charts/SPS': step / ctx.elapsedSec(),
    });
    await ctx.tick(step, snapshot);
  }

  ctx.close();
  const chosen = ctx.finalModel(snapshot(), step);
  const wall = ctx.elapsedSec();
  const output: TrainOutput = {
    model: chosen.model,
    selected: chosen.selected,
    algorithm: 'ppo',
    hyperParameters: {
      ...hp,
      hidden: start ? start.layers.slice(0, -1).map((l) => l.outDim) : opts.hidden,
      actorParameters: parameterCount(actor),
      ...(start ? { initActor: true } : {}),
    },
    envSteps: step,
    wallTimeSec: wall,
    episodes: ctx.episodes,
    recentReturn: ctx.recentReturn(),
    updatesPerSec: gradSteps / wall,
    stepsPerSec: step / wall,
  };
  actorOpt.dispose();
  criticOpt.dispose();
  return output;
}

/** A student to fine-tune must fit the env: same observation size, and a head PPO can sample from. */
function checkInitActor(m: PolicyModel, obsDim: number, space: import('@edgedistill/runtime/envs').Space, envId: string): void {
  const file = typeof m.card?.file === 'string' ? m.card.file : undefined;
  const field = '--init-from';
  if (m.obsDim !== obsDim) {
    throw new EdgeDistillError('BAD_ARGUMENT', `the student takes ${m.obsDim} observation values but ${envId} gives ${obsDim}`, { file, field });
  }
  if (space.kind === 'discrete') {
    if (m.head.kind !== 'discrete' || m.head.n !== space.n) {
      throw new EdgeDistillError('BAD_ARGUMENT', `the student's head (${m.head.kind === 'discrete' ? `${m.head.n} discrete actions` : 'continuous'}) does not fit ${envId}'s ${space.n} discrete actions`, { file, field });
    }
  } else {
    if (m.head.kind !== 'continuous' || m.head.dim !== space.low.length) {
      throw new EdgeDistillError('BAD_ARGUMENT', `the student's head does not fit ${envId}'s ${space.low.length}-dimensional continuous actions`, { file, field });
    }
    if (m.head.squash !== 'none') {
      throw new EdgeDistillError('UNSUPPORTED', `PPO fine-tuning samples around an unsquashed mean; this student squashes its actions (${m.head.squash})`, {
        file,
        field,
        suggestion: 'adapt it from the variant\'s teacher instead (--teacher)',
      });
    }
  }
}

/** Samples from softmax(logits); returns the index and its log probability. */
export function sampleCategorical(logits: ArrayLike<number>, rng: Rng): { a: number; logp: number } {
  let max = -Infinity;
  for (let j = 0; j < logits.length; j++) max = Math.max(max, logits[j]);
  let z = 0;
  for (let j = 0; j < logits.length; j++) z += Math.exp(logits[j] - max);
  const u = rng.uniform() * z;
  let acc = 0;
  let a = logits.length - 1;
  for (let j = 0; j < logits.length; j++) {
    acc += Math.exp(logits[j] - max);
    if (u < acc) {
      a = j;
      break;
    }
  }
  return { a, logp: logits[a] - max - Math.log(z) };
}

/** Rows `idx` of a row-major matrix with `dim` columns. */
export function gatherRows(src: Float32Array, idx: ArrayLike<number>, dim: number): Float32Array {
  const out = new Float32Array(idx.length * dim);
  for (let k = 0; k < idx.length; k++) out.set(src.subarray(idx[k] * dim, (idx[k] + 1) * dim), k * dim);
  return out;
}
