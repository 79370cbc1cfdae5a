/**
 * Soft Actor-Critic for continuous control, CleanRL-style (sac_continuous_action.py): a
 * tanh-squashed Gaussian actor, twin Q critics with Polyak-averaged targets, delayed actor updates
 * and automatic entropy tuning. Hard-exploration tasks (MountainCarContinuous) can warm the replay
 * buffer with state-dependent exploration: random linear policies of the observation, resampled
 * every few steps (the idea of gSDE), which reach states that independent per-step noise does not.
 * The shipped policy is the actor's mean through tanh and the action bounds (IR squash 'tanh').
 */
import type { PolicyModel } from '../ir/types.js';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { EnvPool } from './envpool.js';
import { applyGradients, sacTarget, scaleAction, softUpdate, squashedLogProb } from './math.js';
import { type Mlp, cloneMlp, forward, makeMlp, parameterCount, predict, toDenseLayers, variables } from './nn.js';
import { ReplayBuffer } from './replay.js';
import { Rng } from './rng.js';
import { RunContext, type RunOptions, type TrainOutput } from './run.js';
import { tf } from './backend.js';

export interface SacHyper {
  /** Total environment steps. */
  totalSteps: number;
  /** Replay buffer capacity (transitions). */
  bufferSize: number;
  /** Discount factor. */
  gamma: number;
  /** Polyak rate of the target critics. */
  tau: number;
  /** Minibatch size. */
  batchSize: number;
  /** Steps of warm-up exploration before learning starts. */
  learningStarts: number;
  /** Warm-up actions: uniform in the box, or random linear policies of the observation (gSDE-like). */
  warmup: 'uniform' | 'linear';
  /** For warmup 'linear': resample the random policy every this many steps (and at every reset). */
  warmupResample: number;
  /** Actor learning rate. */
  policyLr: number;
  /** Critic (and entropy temperature) learning rate. */
  qLr: number;
  /** Actor updates happen every this many critic updates (that many at once, as CleanRL). */
  policyFrequency: number;
  /** Critic updates between target updates. */
  targetNetworkFrequency: number;
  /** Env steps between training phases. */
  trainFreq: number;
  /** Gradient steps per training phase. */
  gradientSteps: number;
  /** Entropy temperature (the start value when autotuned). */
  alpha: number;
  /** Tune alpha towards the target entropy -dim(A). */
  autotune: boolean;
  /** Critic hidden layers (the critics are not shipped, so they may be smaller). */
  criticHidden: number[];
  /** Bounds of the actor's log std. */
  logStdMin: number;
  logStdMax: number;
}

export const SAC_DEFAULTS: SacHyper = {
  totalSteps: 20_000,
  bufferSize: 1_000_000,
  gamma: 0.99,
  tau: 0.005,
  batchSize: 256,
  learningStarts: 1000,
  warmup: 'uniform',
  warmupResample: 64,
  policyLr: 1e-3,
  qLr: 1e-3,
  policyFrequency: 2,
  targetNetworkFrequency: 1,
  trainFreq: 1,
  gradientSteps: 1,
  alpha: 0.2,
  autotune: true,
  criticHidden: [64, 64],
  logStdMin: -5,
  logStdMax: 2,
};

export async function trainSac(opts: RunOptions, hp: SacHyper): Promise<TrainOutput> {
  const rng = new Rng(opts.seed);
  const pool = new EnvPool(opts.envId, 1, opts.seed, opts.envOptions);
  const env = pool.env;
  const space = env.actionSpace;
  if (space.kind !== 'box') {
    throw new EdgeDistillError('BAD_ARGUMENT', `sac needs a continuous (box) action space; ${opts.envId} is discrete (use ppo or dqn)`, {
      field: '--algo',
    });
  }
  const obsDim = pool.obsDim;
  const dim = space.low.length;
  // Derived values.
  const low = Float32Array.from(space.low);
  const high = Float32Array.from(space.high);
  const scale = tf.tensor1d(Float32Array.from(low, (l, j) => (high[j] - l) / 2));
  const targetEntropy = -dim;

  // Networks: the actor emits [mean, raw log std]; critics take [obs, action in [-1, 1]].
  const actor: Mlp = makeMlp([obsDim, ...opts.hidden, 2 * dim], 'relu', { kind: 'uniform' }, rng);
  const q1: Mlp = makeMlp([obsDim + dim, ...hp.criticHidden, 1], 'relu', { kind: 'uniform' }, rng);
  const q2: Mlp = makeMlp([obsDim + dim, ...hp.criticHidden, 1], 'relu', { kind: 'uniform' }, rng);
  const q1t = cloneMlp(q1);
  const q2t = cloneMlp(q2);
  const actorVars = variables(actor);
  const qVars = [...variables(q1), ...variables(q2)];
  const qTargetVars = [...variables(q1t), ...variables(q2t)];
  const logAlpha = tf.variable(tf.scalar(Math.log(hp.alpha)));
  const actorOpt = tf.train.adam(hp.policyLr);
  const qOpt = tf.train.adam(hp.qLr);
  const alphaOpt = tf.train.adam(hp.qLr);
  const buffer = new ReplayBuffer(Math.min(hp.bufferSize, hp.totalSteps), obsDim, dim);
  let alpha = hp.alpha;

  const snapshot = (): PolicyModel => ({
    envId: opts.envId,
    obsDim,
    obsNorm: null,
    layers: toDenseLayers(actor, [0, dim]),
    head: { kind: 'continuous', dim, squash: 'tanh', low, high },
    card: { algorithm: 'sac' },
  });

  /** mean, log std (bounded by tanh) and a reparameterized squashed sample with its log prob. */
  const policy = (x: tf.Tensor2D, noise: tf.Tensor2D) => {
    const out = forward(actor, x);
    const mean = tf.slice(out, [0, 0], [-1, dim]) as tf.Tensor2D;
    const raw = tf.tanh(tf.slice(out, [0, dim], [-1, dim]));
    const logStd = tf.add(hp.logStdMin, tf.mul(0.5 * (hp.logStdMax - hp.logStdMin), tf.add(raw, 1))) as tf.Tensor2D;
    const u = tf.add(mean, tf.mul(tf.exp(logStd), noise)) as tf.Tensor2D;
    return squashedLogProb(mean, logStd, u, scale);
  };
  const qOf = (net: Mlp, x: tf.Tensor2D, a: tf.Tensor2D) => tf.reshape(forward(net, tf.concat([x, a], 1) as tf.Tensor2D), [-1]) as tf.Tensor1D;

  const ctx = new RunContext(opts, hp.totalSteps);
  let obs = pool.current();
  let linearW: Float32Array = new Float32Array(dim * (obsDim + 1));
  const resampleLinear = () => {
    linearW = rng.normals(dim * (obsDim + 1));
  };
  resampleLinear();
  let gradSteps = 0;
  let updates = 0;
  const acc = { qf: 0, actor: 0, alphaLoss: 0, n: 0, na: 0 };
  for (let step = 1; step <= hp.totalSteps; step++) {
    // 1. Act: warm-up exploration, then a sample of the squashed Gaussian.
    const a = new Float32Array(dim);
    if (step <= hp.learningStarts) {
      if (hp.warmup === 'uniform') for (let j = 0; j < dim; j++) a[j] = rng.uniform() * 2 - 1;
      else {
        if (step % hp.warmupResample === 0) resampleLinear();
        // obs scaled by the observation box where it is finite, so every dimension matters.
        for (let j = 0; j < dim; j++) {
          let z = linearW[j * (obsDim + 1) + obsDim];
          for (let k = 0; k < obsDim; k++) {
            const lo = env.observationSpace.low[k];
            const hi = env.observationSpace.high[k];
            const s = Number.isFinite(lo) && Number.isFinite(hi) && hi > lo ? (2 * (obs[k] - lo)) / (hi - lo) - 1 : obs[k];
            z += linearW[j * (obsDim + 1) + k] * s * 3;
          }
          a[j] = Math.tanh(z);
        }
      }
    } else {
      const out = predict(actor, obs, 1);
      for (let j = 0; j < dim; j++) {
        const t = Math.tanh(out[dim + j]);
        const logStd = hp.logStdMin + 0.5 * (hp.logStdMax - hp.logStdMin) * (t + 1);
        a[j] = Math.tanh(out[j] + Math.exp(logStd) * rng.normal());
      }
    }
    const r = pool.step([scaleAction(a, low, high)]);
    const ended = r.terminated[0] || r.truncated[0];
    buffer.add(obs, a, r.rewards[0], ended ? r.finalObs.subarray(0, obsDim) : r.obs, r.terminated[0] === 1);
    obs = r.obs;
    if (ended && hp.warmup === 'linear') resampleLinear();
    for (const e of r.episodes) ctx.episode(step, e.ret, e.len);

    // 2. Learn.
    if (step > hp.learningStarts && step % hp.trainFreq === 0) {
      for (let g = 0; g < hp.gradientSteps; g++) {
        const b = buffer.sample(hp.batchSize, rng);
        const B = hp.batchSize;
        const x = tf.tensor2d(b.obs, [B, obsDim]);
        const xn = tf.tensor2d(b.nextObs, [B, obsDim]);
        const act = tf.tensor2d(b.actions, [B, dim]);
        const y = tf.tidy(() => {
          const next = policy(xn, tf.tensor2d(rng.normals(B * dim), [B, dim]));
          return sacTarget(
            tf.tensor1d(b.rewards),
            tf.tensor1d(b.terminated),
            qOf(q1t, xn, next.squashed),
            qOf(q2t, xn, next.squashed),
            next.logProb,
            alpha,
            hp.gamma,
          );
        });
        const qLoss = tf.tidy(() => {
          const { value, grads } = tf.variableGrads(() => {
            const l1 = tf.mean(tf.square(tf.sub(qOf(q1, x, act), y)));
            const l2 = tf.mean(tf.square(tf.sub(qOf(q2, x, act), y)));
            return tf.add(l1, l2) as tf.Scalar;
          }, qVars);
          applyGradients(qOpt, grads);
          return value.dataSync()[0];
        });
        acc.qf += qLoss;
        acc.n++;
        updates++;
        gradSteps++;
        if (updates % hp.policyFrequency === 0) {
          for (let k = 0; k < hp.policyFrequency; k++) {
            const noise = tf.tensor2d(rng.normals(B * dim), [B, dim]);
            const [aLoss, meanLogp] = tf.tidy(() => {
              let logp: tf.Tensor1D | null = null;
              const { value, grads } = tf.variableGrads(() => {
                const pi = policy(x, noise);
                logp = tf.keep(pi.logProb);
                const minQ = tf.minimum(qOf(q1, x, pi.squashed), qOf(q2, x, pi.squashed));
                return tf.mean(tf.sub(tf.mul(alpha, pi.logProb), minQ)) as tf.Scalar;
              }, actorVars);
              applyGradients(actorOpt, grads);
              return [value.dataSync()[0], tf.mean(logp!).dataSync()[0]];
            });
            noise.dispose();
            acc.actor += aLoss;
            acc.na++;
            if (hp.autotune) {
              // d/d logAlpha of mean(-exp(logAlpha) * (log pi + target entropy)).
              const c = meanLogp + targetEntropy;
              tf.tidy(() => {
                const { value, grads } = tf.variableGrads(() => tf.mul(tf.neg(tf.exp(logAlpha)), c) as tf.Scalar, [logAlpha]);
                applyGradients(alphaOpt, grads);
                acc.alphaLoss += value.dataSync()[0];
              });
              alpha = Math.exp(logAlpha.dataSync()[0]);
            }
          }
        }
        if (updates % hp.targetNetworkFrequency === 0) softUpdate(qTargetVars, qVars, hp.tau);
        tf.dispose([x, xn, act, y]);
      }
    }

    if (step % 1000 === 0 && acc.n > 0) {
      ctx.metrics(step, {
        'losses/qf_loss': acc.qf / acc.n,
        'losses/actor_loss': acc.na ? acc.actor / acc.na : 0,
        'losses/alpha': alpha,
        'losses/alpha_loss': acc.na ? acc.alphaLoss / acc.na : 0,
        'charts/SPS': step / ctx.elapsedSec(),
      });
      acc.qf = acc.actor = acc.alphaLoss = acc.n = acc.na = 0;
    }
    if (step % 100 === 0 || step === hp.totalSteps) await ctx.tick(step, snapshot);
  }

  ctx.close();
  const chosen = ctx.finalModel(snapshot(), hp.totalSteps);
  const wall = ctx.elapsedSec();
  const out: TrainOutput = {
    model: chosen.model,
    selected: chosen.selected,
    algorithm: 'sac',
    hyperParameters: { ...hp, hidden: opts.hidden, actorParameters: parameterCount(actor) - opts.hidden[opts.hidden.length - 1] * dim - dim },
    envSteps: hp.totalSteps,
    wallTimeSec: wall,
    episodes: ctx.episodes,
    recentReturn: ctx.recentReturn(),
    updatesPerSec: gradSteps / wall,
    stepsPerSec: hp.totalSteps / wall,
  };
  scale.dispose();
  return out;
}
