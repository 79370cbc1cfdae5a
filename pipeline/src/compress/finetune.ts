/**
 * Fine-tuning with the distillation loss: Adam on minibatches of teacher-labelled states, learning
 * rate decayed linearly, an exponential moving average of the parameters (what is checked and kept),
 * held-out checks on a validation set; the best checked parameters are kept, and training stops
 * early once the validation target is met.
 */
import { Adam, klFromProbs, mseLoss, nllLoss, squashActions, squashBackward } from '../distill/index.js';
import { seededRandom } from '../ir/build.js';
import type { StateSet } from './data.js';
import type { FinetuneLoss } from './labels.js';
import type { TunableMlp } from './net.js';

/** What the loss and the checks need to know about the head. */
export interface HeadInfo {
  kind: 'discrete' | 'continuous';
  outDim: number;
  loss: FinetuneLoss;
  squash: 'tanh' | 'none';
  low: Float32Array;
  high: Float32Array;
}

export interface FinetuneOptions {
  steps?: number;
  batch?: number;
  lr?: number;
  /** Final learning rate as a fraction of lr. */
  minLrFraction?: number;
  checkEvery?: number;
  emaDecay?: number;
  seed?: number;
  /** Stop once validation agreement >= this (discrete) or action error <= this (continuous). */
  stopAt?: number | null;
}

export interface ValidationMetrics {
  agreement: number | null;
  actionError: number | null;
  loss: number;
}

export interface FinetuneResult {
  steps: number;
  bestStep: number;
  seconds: number;
  start: ValidationMetrics;
  validation: ValidationMetrics;
}

/** Loss of outputs y (n rows) against targets t (teacher actions for 'nll'); writes dLoss/dy into g when given. */
export function headLoss(h: HeadInfo, t: Float32Array, y: Float32Array, n: number, g: Float32Array | null, scratch: Float32Array): number {
  if (h.loss === 'kl') return klFromProbs(t, y, n, h.outDim, g);
  if (h.loss === 'nll') return nllLoss(t, y, n, h.outDim, g);
  if (h.loss === 'mse-raw') return mseLoss(t, y, n, h.outDim, g);
  squashActions(y, n, h.outDim, h.squash, h.low, h.high, scratch);
  const l = mseLoss(t, scratch, n, h.outDim, g);
  if (g) squashBackward(y, n, h.outDim, h.squash, h.low, h.high, g);
  return l;
}

/** Agreement (discrete) or mean |action - teacher action| (continuous) of outputs y on a state set. */
export function metricsOf(h: HeadInfo, y: Float32Array, set: StateSet): ValidationMetrics {
  const n = set.size;
  const d = h.outDim;
  const scratch = new Float32Array(n * d);
  const t = h.loss === 'nll' ? set.actions.subarray(0, n) : set.targets.subarray(0, n * set.targetDim);
  const loss = headLoss(h, t, y, n, null, scratch);
  if (h.kind === 'discrete') {
    let agree = 0;
    for (let r = 0; r < n; r++) {
      let best = 0;
      for (let j = 1; j < d; j++) if (y[r * d + j] > y[r * d + best]) best = j;
      if (best === set.actions[r]) agree++;
    }
    return { agreement: agree / n, actionError: null, loss };
  }
  let err = 0;
  for (let k = 0; k < n * d; k++) err += Math.abs(scratch[k] - set.actions[k]);
  return { agreement: null, actionError: err / (n * d), loss };
}

/** a is better than b: higher agreement (then lower loss), or lower action error. */
function better(a: ValidationMetrics, b: ValidationMetrics): boolean {
  if (a.agreement !== null && b.agreement !== null) return a.agreement > b.agreement || (a.agreement === b.agreement && a.loss < b.loss);
  return (a.actionError ?? Infinity) < (b.actionError ?? Infinity);
}

function reached(m: ValidationMetrics, stopAt: number | null | undefined): boolean {
  if (stopAt === null || stopAt === undefined) return false;
  return m.agreement !== null ? m.agreement >= stopAt : (m.actionError ?? Infinity) <= stopAt;
}

export function validate(net: TunableMlp, h: HeadInfo, set: StateSet): ValidationMetrics {
  const y = net.predict(set.normalized(net.obsNorm), set.size, new Float32Array(set.size * h.outDim));
  return metricsOf(h, y, set);
}

export function finetune(net: TunableMlp, h: HeadInfo, train: StateSet, val: StateSet, opts: FinetuneOptions = {}): FinetuneResult {
  const t0 = performance.now();
  const steps = opts.steps ?? 3000;
  const batch = Math.min(opts.batch ?? 256, net.maxBatch);
  const lr = opts.lr ?? 1e-3;
  const minFrac = opts.minLrFraction ?? 0.05;
  const checkEvery = opts.checkEvery ?? 250;
  const emaDecay = opts.emaDecay ?? 0.99;
  const rnd = seededRandom(opts.seed ?? 0);
  const adam = new Adam(net.params.length, { lr });
  const ema = net.params.slice();
  const live = new Float32Array(net.params.length);
  const xb = new Float32Array(batch * train.obsDim);
  const tb = new Float32Array(batch * (h.loss === 'nll' ? 1 : train.targetDim));
  const grad = new Float32Array(batch * h.outDim);
  const scratch = new Float32Array(batch * h.outDim);
  const x = train.normalized(net.obsNorm);

  /** Validation metrics of the averaged parameters (swapped in, then back). */
  const check = (): ValidationMetrics => {
    live.set(net.params);
    net.params.set(ema);
    const m = validate(net, h, val);
    net.params.set(live);
    return m;
  };
  const start = check();
  let best = start;
  let bestStep = 0;
  const bestParams = ema.slice();
  let s = 0;
  if (!reached(start, opts.stopAt) && train.size > 0) {
    for (s = 1; s <= steps; s++) {
      adam.lr = lr * (1 - ((1 - minFrac) * (s - 1)) / steps);
      if (h.loss === 'nll') train.sampleActions(rnd, batch, x, xb, tb);
      else train.sample(rnd, batch, x, xb, tb);
      const y = net.forward(xb, batch);
      headLoss(h, tb, y, batch, grad, scratch);
      net.backward(grad);
      adam.step(net.params, net.grads);
      net.afterStep();
      const d = Math.min(emaDecay, (1 + s) / (10 + s));
      for (let k = 0; k < ema.length; k++) ema[k] += (1 - d) * (net.params[k] - ema[k]);
      if (s % checkEvery === 0 || s === steps) {
        const m = check();
        if (better(m, best)) {
          best = m;
          bestStep = s;
          bestParams.set(ema);
        }
        if (reached(m, opts.stopAt)) break;
      }
    }
  }
  net.params.set(bestParams);
  net.afterStep();
  return { steps: Math.min(s, steps), bestStep, seconds: (performance.now() - t0) / 1000, start, validation: best };
}
