/**
 * int8 for a float candidate: post-training quantization calibrated on teacher-visited states with
 * min-max and with percentile ranges (both with the output margin), the better of the two kept; when
 * that misses the targets (or when asked), quantization-aware fine-tuning with the activation ranges
 * fixed to the chosen calibration and fake-quantized weights and activations in the forward pass,
 * in DAgger rounds driven by the int8 model, on the teacher's argmax actions (NLL) for discrete
 * heads: agreement is what int8 rounding breaks, at states where the teacher's logits nearly tie,
 * and the soft KL targets barely care about those (measured on MountainCar-v0: KL 0.9879, NLL 0.9924).
 * A third PTQ variant first equalizes ranges (per-dimension input ranges folded into the float
 * normalization, ReLU units scaled to their layer's range; see equalize.ts), which matters because
 * int8 quantizes the whole observation with one scale.
 * When every 8-bit PTQ variant misses the targets and the model allows it, the same three variants
 * run again with a 12-bit quantized observation (QuantizedPolicy.inputBits: int8 weights, every later
 * tensor int8; the exporters compute that first layer exactly in float ops), and QAT starts from the
 * best of all six (from each of the three wide-input ones when the best is wide: see below).
 * Measured on CartPole-v1, whose teacher acts on a fine boundary: held-out agreement 8-bit PTQ
 * 0.90-0.92 / QAT 0.94, 12-bit PTQ 0.97 / QAT 0.991-0.992 (distill seeds 0-2; float students
 * 0.990-0.994 on the same states).
 * Every int8 number here comes from forwardInt8 (the integer semantics exporters reproduce).
 */
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import type { PolicyModel } from '../ir/types.js';
import {
  activationParamsOf,
  calibrateRanges,
  quantizeWithRanges,
  type CalibratedRanges,
  type CalibrationMethod,
} from '../quant/calibrate-percentile.js';
import type { QuantizedPolicy } from '../quant/types.js';
import { evaluateCandidate, heldOutMetrics, type CompressContext, type Evaluation, type Targets } from './context.js';
import type { FinetuneOptions, FinetuneResult } from './finetune.js';
import type { LayerParam } from './net.js';
import { equalizeInputs, equalizeReluUnits } from './equalize.js';
import { stopAgreement, tuneModel } from './tune.js';

export interface Int8Trial {
  label: string;
  method: CalibrationMethod;
  /** Bits of the quantized observation (8, or 12 for a wide input). */
  inputBits: number;
  /** Input and ReLU range equalization applied before calibration. */
  equalized: boolean;
  qat: boolean;
  qp: QuantizedPolicy;
  /** The float weights the int8 model was quantized from (the QAT-trained ones after QAT). */
  float: PolicyModel;
  ranges: CalibratedRanges;
  eval: Evaluation;
  finetune: FinetuneResult | null;
}

export interface Int8Options {
  /** 'auto' (default): QAT only when PTQ misses the targets. */
  qat?: 'auto' | 'always' | 'never';
  percentile?: number;
  outputMargin?: number;
  /** Percentile of each input dimension mapped onto [-1, 1] by the equalized variant (default 99.9; null: no equalized variant). */
  equalizeInputs?: number | null;
  /**
   * Bits of the quantized observation: 'auto' (default) tries 8 and, when 8-bit PTQ misses the
   * targets and the model allows it, also 12 (QuantizedPolicy.inputBits: the first layer keeps int8
   * weights, its input gets 16x the resolution); or a fixed 8 / 12.
   */
  inputBits?: 'auto' | 8 | 12;
  /** QAT rounds at most (default 6). */
  qatRounds?: number;
  finetune?: FinetuneOptions;
}

/** The wide input width compress tries when 8-bit input quantization misses the targets. */
export const WIDE_INPUT_BITS = 12;

/** Whether the exporters can compute a wide input for this model (relu / linear first layer, then another layer). */
export function wideInputPossible(model: PolicyModel): boolean {
  const a = model.layers[0]?.activation;
  return model.layers.length >= 2 && (a === 'relu' || a === 'none');
}

export interface Int8Outcome {
  chosen: Int8Trial;
  trials: Int8Trial[];
}

/**
 * Ranking of candidates: all targets met first; then the return target met (returns are what the
 * robot feels), then the agreement target met; then agreement (or lower action error); then retention.
 */
export function betterEval(a: Evaluation, b: Evaluation, t?: Targets): boolean {
  if (a.targetsMet !== b.targetsMet) return a.targetsMet;
  if (t) {
    const ret = (e: Evaluation) => t.retention === null || (e.returnRetention ?? -Infinity) >= t.retention;
    const agr = (e: Evaluation) => t.agreement === null || (e.agreement ?? 0) >= t.agreement;
    if (ret(a) !== ret(b)) return ret(a);
    if (agr(a) !== agr(b)) return agr(a);
  }
  if (a.agreement !== null && b.agreement !== null && a.agreement !== b.agreement) return a.agreement > b.agreement;
  if (a.actionError !== null && b.actionError !== null && a.actionError !== b.actionError) return a.actionError < b.actionError;
  return (a.returnRetention ?? -Infinity) > (b.returnRetention ?? -Infinity);
}

export async function quantizeInt8(ctx: CompressContext, model: PolicyModel, params: readonly LayerParam[] | null, o: Int8Options = {}): Promise<Int8Outcome> {
  const calib = ctx.teacherStates.obs;
  const trials: Int8Trial[] = [];
  const percentile = o.percentile ?? 99.99;
  const n = ctx.teacherStates.n;
  // 99.9, not narrower: saturating the rarest states costs returns more than the finer grid buys.
  const eqP = o.equalizeInputs === undefined ? 99.9 : o.equalizeInputs;
  const variants: { model: PolicyModel; method: CalibrationMethod; equalized: boolean; params: readonly LayerParam[] | null }[] = [
    { model, method: 'minmax', equalized: false, params },
    { model, method: 'percentile', equalized: false, params },
  ];
  // Equalization rescales weights, which a codebook cannot follow; masks survive (0 * s = 0).
  if (eqP !== null && !model.layers.some((l) => l.codebook)) {
    variants.push({ model: equalizeReluUnits(equalizeInputs(model, calib, n, eqP), calib, n, percentile), method: 'percentile', equalized: true, params });
  }
  const ptq = async (bits: number) => {
    for (const v of variants) {
      const ranges = calibrateRanges(v.model, calib, { method: v.method, percentile, outputMargin: o.outputMargin, inputBits: bits, ...(v.equalized ? { inputRange: [-1, 1] as const } : {}) });
      let qp: QuantizedPolicy;
      try {
        qp = quantizeWithRanges(v.model, ranges);
      } catch (e) {
        // A wide input the exporters could not compute exactly (partial sums >= 2^24): not a candidate.
        if (bits !== 8 && e instanceof EdgeDistillError && e.field === 'inputBits') continue;
        throw e;
      }
      const ev = await evaluateCandidate(ctx, { kind: 'int8', qp });
      const base = v.method === 'minmax' ? 'int8 PTQ min-max' : v.equalized ? `int8 PTQ p${percentile} equalized (inputs p${eqP})` : `int8 PTQ p${percentile}`;
      const label = bits === 8 ? base : `${base}, ${bits}-bit input`;
      trials.push({ label, method: v.method, inputBits: bits, equalized: v.equalized, qat: false, qp, float: v.model, ranges, eval: ev, finetune: null });
    }
  };
  const bitsOpt = o.inputBits ?? 'auto';
  await ptq(bitsOpt === 'auto' ? 8 : bitsOpt);
  const best = () => trials.reduce((b, t) => (betterEval(t.eval, b.eval, ctx.targets) ? t : b));
  // The quantized observation is what int8 loses most where the teacher acts on a fine boundary
  // (CartPole): a 12-bit input costs 4 float ops at the edge and nothing in the int8 layers.
  if (bitsOpt === 'auto' && !best().eval.targetsMet && wideInputPossible(model)) await ptq(WIDE_INPUT_BITS);
  let chosen = best();
  const qat = o.qat ?? 'auto';
  if (qat === 'always' || (qat === 'auto' && !chosen.eval.targetsMet)) {
    // A wide-input start is a case 8-bit int8 could not handle (a teacher acting on a fine boundary):
    // there, QAT restarts from each wide-input PTQ variant (on CartPole-v1 their QAT outcomes spread
    // 0.0016-0.0037 in validation agreement), with rounds of 4x the data, all teacher-driven: the
    // target binding there is agreement on teacher-visited states, and with 8,000 mixed states per
    // round the train-set agreement was 0.995 against held-out 0.989. Measured on CartPole-v1 (distill
    // seeds 0-2, held-out agreement, 16k validation states): one start, 500-step mixed rounds
    // 0.9890-0.9906; 3 starts 0.9898-0.9905; 3 starts + 2000-step teacher rounds 0.9911-0.9924
    // (25-31 CPU-s for context + int8, was 6-8 s; with patience 2 instead of 3, 0.9881-0.9913).
    // Validation picks the start and the round (whether to go wide and to run QAT at all is still
    // decided on the held-out evaluation of the PTQ trials, as before).
    const wideStart = chosen.inputBits !== 8;
    const starts = wideStart ? trials.filter((t) => t.inputBits === chosen.inputBits) : [chosen];
    let r: QatRun | null = null;
    let steps = 0;
    let seconds = 0;
    for (const start of starts) {
      const x = await qatFrom(ctx, start, params, wideStart, o);
      steps += x.steps;
      seconds += x.seconds;
      if (!r || betterMetrics(x.m, r.m)) r = x;
    }
    const b = r!;
    const ev = await evaluateCandidate(ctx, { kind: 'int8', qp: b.qp });
    const t: Int8Trial = {
      label: `int8 QAT (from ${b.start.label.replace('int8 ', '')})`,
      method: b.start.method,
      inputBits: b.start.inputBits,
      equalized: b.start.equalized,
      qat: true,
      qp: b.qp,
      float: b.float,
      ranges: b.start.ranges,
      eval: ev,
      finetune: { ...b.ft, steps, seconds },
    };
    trials.push(t);
    if (betterEval(ev, chosen.eval, ctx.targets)) chosen = t;
  }
  return { chosen, trials };
}

type Metrics = { agreement: number | null; actionError: number | null };

/** Higher validation agreement, or lower action error. */
function betterMetrics(a: Metrics, b: Metrics): boolean {
  return a.agreement !== null ? a.agreement > (b.agreement as number) : (a.actionError as number) < (b.actionError as number);
}

interface QatRun {
  start: Int8Trial;
  qp: QuantizedPolicy;
  float: PolicyModel;
  /** Validation metrics (forwardInt8). */
  m: Metrics;
  ft: FinetuneResult;
  steps: number;
  seconds: number;
}

/**
 * QAT from one PTQ start, in rounds, DAgger-style: the int8 model drives the next round's data (the
 * states int8 errors lead to; wide starts: teacher-driven, see above), fine-tuning continues from
 * the last round with the activation ranges fixed to the start's calibration; the round with the
 * best validation metrics (computed with forwardInt8) is kept.
 */
async function qatFrom(ctx: CompressContext, start: Int8Trial, params: readonly LayerParam[] | null, wideStart: boolean, o: Int8Options): Promise<QatRun> {
  const ranges = start.ranges;
  const fq = activationParamsOf(ranges);
  const stop = stopAgreement(ctx);
  let base = start.float;
  let driver = start.qp;
  let best: { qp: QuantizedPolicy; float: PolicyModel; m: Metrics; ft: FinetuneResult } | null = null;
  let seconds = 0;
  let steps = 0;
  // Wide starts: twice the budget per round and a round more of patience (CartPole-v1: 0.988 -> 0.991).
  const rounds = o.qatRounds ?? (wideStart ? 12 : 6);
  let stale = 0;
  for (let round = 0; round < rounds && stale < (wideStart ? 3 : 2); round++) {
    const tuned = await tuneModel(ctx, base, params, {
      driver: { kind: 'int8', qp: driver },
      round: wideStart ? { steps: 2000, beta: 1 } : undefined,
      fakeQuant: fq,
      loss: ctx.head.kind === 'discrete' ? 'nll' : undefined,
      finetune: { steps: wideStart ? 6000 : 3000, lr: 2e-3, ...o.finetune },
    });
    seconds += tuned.finetune.seconds;
    steps += tuned.finetune.steps;
    const qp = quantizeWithRanges(tuned.model, ranges);
    const m = heldOutMetrics(ctx, { kind: 'int8', qp }, ctx.validation);
    if (!best || betterMetrics(m, best.m)) {
      best = { qp, float: tuned.model, m, ft: tuned.finetune };
      stale = 0;
    } else stale++; // rounds without progress: stop
    if (m.agreement !== null && stop !== null && m.agreement >= stop) break;
    base = tuned.model;
    driver = qp;
  }
  return { start, ...best!, steps, seconds };
}
