/**
 * DQN, CleanRL-style: epsilon-greedy on one env, a replay buffer, a target network (hard copies
 * every K steps, or Polyak with tau < 1), Huber loss, optional double DQN. The shipped policy is
 * the online Q-network with a `q_values` head (the action is the argmax).
 */
import type { PolicyModel } from '../ir/types.js';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { EnvPool } from './envpool.js';
import { applyGradients, clipByGlobalNorm, doubleQNext, huberLoss, linearSchedule, softUpdate, tdTarget } from './math.js';
import { type Mlp, cloneMlp, forward, makeMlp, parameterCount, predict, toDenseLayers, variables } from './nn.js';
import { ReplayBuffer } from './replay.js';
import { Rng } from './rng.js';
import { RunContext, type RunOptions, type TrainOutput } from './run.js';
import { tf } from './backend.js';

export interface DqnHyper {
  /** Total environment steps. */
  totalSteps: number;
  /** Adam learning rate. */
  learningRate: number;
  /** Replay buffer capacity (transitions). */
  bufferSize: number;
  /** Steps of pure exploration before the first update. */
  learningStarts: number;
  /** Minibatch size of each gradient step. */
  batchSize: number;
  /** Discount factor. */
  gamma: number;
  /** Env steps between target-network updates. */
  targetUpdateInterval: number;
  /** Target update rate (1: hard copy). */
  tau: number;
  /** Env steps between training phases. */
  trainFreq: number;
  /** Gradient steps per training phase. */
  gradientSteps: number;
  /** Fraction of training over which epsilon decays linearly. */
  explorationFraction: number;
  /** Epsilon at the start. */
  startEps: number;
  /** Epsilon after the decay. */
  endEps: number;
  /** Global gradient-norm clip. */
  maxGradNorm: number;
  /** Double DQN targets (online net picks, target net evaluates). */
  doubleQ: boolean;
}

export const DQN_DEFAULTS: DqnHyper = {
  totalSteps: 120_000,
  learningRate: 4e-3,
  bufferSize: 10_000,
  learningStarts: 1000,
  batchSize: 128,
  gamma: 0.98,
  targetUpdateInterval: 600,
  tau: 1,
  trainFreq: 16,
  gradientSteps: 8,
  explorationFraction: 0.2,
  startEps: 1,
  endEps: 0.07,
  maxGradNorm: 10,
  doubleQ: false,
};

export async function trainDqn(opts: RunOptions, hp: DqnHyper): Promise<TrainOutput> {
  const rng = new Rng(opts.seed);
  const pool = new EnvPool(opts.envId, 1, opts.seed, opts.envOptions);
  const env = pool.env;
  const space = env.actionSpace;
  if (space.kind !== 'discrete') {
    throw new EdgeDistillError('BAD_ARGUMENT', `dqn needs a discrete action space; ${opts.envId} is continuous (use sac)`, { field: '--algo' });
  }
  const obsDim = pool.obsDim;
  const nA = space.n;
  // Derived values.
  const epsSteps = hp.explorationFraction * hp.totalSteps;

  // Networks: torch's default init, as CleanRL's QNetwork.
  const qNet: Mlp = makeMlp([obsDim, ...opts.hidden, nA], 'relu', { kind: 'uniform' }, rng);
  const target: Mlp = cloneMlp(qNet);
  const qVars = variables(qNet);
  const tVars = variables(target);
  const optimizer = tf.train.adam(hp.learningRate);
  const buffer = new ReplayBuffer(Math.min(hp.bufferSize, hp.totalSteps), obsDim, 1);

  const snapshot = (): PolicyModel => ({
    envId: opts.envId,
    obsDim,
    obsNorm: null,
    layers: toDenseLayers(qNet),
    head: { kind: 'discrete', output: 'q_values', n: nA },
    card: { algorithm: 'dqn' },
  });

  const ctx = new RunContext(opts, hp.totalSteps);
  let obs = pool.current();
  let gradSteps = 0;
  let lossSum = 0;
  let qSum = 0;
  let lossN = 0;
  for (let step = 1; step <= hp.totalSteps; step++) {
    // 1. Act epsilon-greedily.
    const eps = linearSchedule(hp.startEps, hp.endEps, epsSteps, step - 1);
    let a: number;
    if (rng.uniform() < eps) a = rng.int(nA);
    else a = argmax(predict(qNet, obs, 1));
    const r = pool.step([a + space.start]);
    // The stored next obs is the real last obs of an ended episode, not the reset one.
    const ended = r.terminated[0] || r.truncated[0];
    const nextObs = ended ? r.finalObs.subarray(0, obsDim) : r.obs;
    buffer.add(obs, [a], r.rewards[0], nextObs, r.terminated[0] === 1);
    obs = r.obs;
    for (const e of r.episodes) ctx.episode(step, e.ret, e.len);

    // 2. Learn.
    if (step > hp.learningStarts && step % hp.trainFreq === 0) {
      for (let g = 0; g < hp.gradientSteps; g++) {
        const b = buffer.sample(hp.batchSize, rng);
        const B = hp.batchSize;
        const res = tf.tidy(() => {
          const x = tf.tensor2d(b.obs, [B, obsDim]);
          const xn = tf.tensor2d(b.nextObs, [B, obsDim]);
          const qTargetNext = forward(target, xn);
          const nextQ = hp.doubleQ ? doubleQNext(forward(qNet, xn), qTargetNext) : (tf.max(qTargetNext, 1) as tf.Tensor1D);
          const y = tdTarget(tf.tensor1d(b.rewards), tf.tensor1d(b.terminated), nextQ, hp.gamma);
          const mask = tf.oneHot(tf.tensor1d(b.actions, 'int32'), nA);
          let qMean: tf.Scalar | null = null;
          const { value, grads } = tf.variableGrads(() => {
            const q = tf.sum(tf.mul(forward(qNet, x), mask), 1) as tf.Tensor1D;
            qMean = tf.keep(tf.mean(q) as tf.Scalar);
            return huberLoss(q, y);
          }, qVars);
          applyGradients(optimizer, clipByGlobalNorm(grads, hp.maxGradNorm).grads);
          return [value.dataSync()[0], qMean!.dataSync()[0]];
        });
        gradSteps++;
        lossSum += res[0];
        qSum += res[1];
        lossN++;
      }
    }
    if (step % hp.targetUpdateInterval === 0) softUpdate(tVars, qVars, hp.tau);

    if (step % 1000 === 0) {
      if (lossN > 0) ctx.metrics(step, { 'losses/td_loss': lossSum / lossN, 'losses/q_values': qSum / lossN });
      ctx.metrics(step, { 'charts/epsilon': eps, 'charts/SPS': step / ctx.elapsedSec() });
      lossSum = qSum = lossN = 0;
    }
    if (step % 100 === 0 || step === hp.totalSteps) await ctx.tick(step, snapshot);
  }

  ctx.close();
  const chosen = ctx.finalModel(snapshot(), hp.totalSteps);
  const wall = ctx.elapsedSec();
  const out: TrainOutput = {
    model: chosen.model,
    selected: chosen.selected,
    algorithm: 'dqn',
    hyperParameters: { ...hp, hidden: opts.hidden, actorParameters: parameterCount(qNet) },
    envSteps: hp.totalSteps,
    wallTimeSec: wall,
    episodes: ctx.episodes,
    recentReturn: ctx.recentReturn(),
    updatesPerSec: gradSteps / wall,
    stepsPerSec: hp.totalSteps / wall,
  };
  optimizer.dispose();
  return out;
}

function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}
