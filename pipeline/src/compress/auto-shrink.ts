/**
 * --auto-shrink: the smallest student that still meets the targets, PoPS-style (Livne & Cohen 2020,
 * "PoPS: Policy Pruning and Shrinking"): prune a fraction of every hidden layer's units, fine-tune
 * with the distillation loss, check the targets (on the int8 model when int8 is the deliverable);
 * on success continue from the smaller model, on failure retry from the last good one with half the
 * step, and stop when the step gets too small. The last model that met the targets is the result;
 * every attempt is reported.
 */
import type { PolicyModel } from '../ir/types.js';
import { evaluateCandidate, heldOutMetrics, type CompressContext, type Evaluation } from './context.js';
import type { FinetuneOptions, FinetuneResult } from './finetune.js';
import type { ImportanceMethod } from './importance.js';
import { quantizeInt8, type Int8Options, type Int8Outcome } from './quantize.js';
import { hiddenOf, shrinkWidths, structuredPrune } from './structured.js';
import { tuneModel } from './tune.js';

export interface AutoShrinkOptions {
  /** Fraction of each hidden layer's units removed per attempt (default 0.3). */
  step?: number;
  /** Stop when a failed attempt would halve the step below this (default 0.07). */
  minStep?: number;
  method?: ImportanceMethod;
  maxAttempts?: number;
  /** Judge candidates on their int8 model (forwardInt8). */
  int8?: boolean;
  int8Options?: Int8Options;
  finetune?: FinetuneOptions;
}

export interface ShrinkAttempt {
  attempt: number;
  from: number[];
  hidden: number[];
  step: number;
  model: PolicyModel;
  float: Evaluation;
  int8: Int8Outcome | null;
  /** Agreement right after pruning, before fine-tuning (held-out, float). */
  prunedAgreement: number | null;
  finetune: FinetuneResult;
  targetsMet: boolean;
  seconds: number;
}

export interface AutoShrinkResult {
  model: PolicyModel;
  int8: Int8Outcome | null;
  attempts: ShrinkAttempt[];
  /** Index into attempts of the result, or -1 when no attempt met the targets (then the start is returned). */
  chosen: number;
}

/** Next widths: `step` of each layer's units off; at least one unit fewer somewhere while any layer has > 1. */
export function nextWidths(hidden: readonly number[], step: number): number[] {
  const w = shrinkWidths(hidden, step);
  if (w.every((v, i) => v === hidden[i])) {
    const i = hidden.indexOf(Math.max(...hidden));
    if (hidden[i] > 1) w[i] = hidden[i] - 1;
  }
  return w;
}

export async function autoShrink(
  ctx: CompressContext,
  start: PolicyModel,
  o: AutoShrinkOptions = {},
  onAttempt?: (a: ShrinkAttempt) => void,
): Promise<AutoShrinkResult> {
  let step = o.step ?? 0.3;
  const minStep = o.minStep ?? 0.07;
  const maxAttempts = o.maxAttempts ?? 24;
  const method = o.method ?? 'activation';
  let current = start;
  let currentInt8: Int8Outcome | null = null;
  let chosen = -1;
  const attempts: ShrinkAttempt[] = [];
  for (let k = 1; k <= maxAttempts; k++) {
    const from = hiddenOf(current);
    const widths = nextWidths(from, step);
    if (widths.every((v, i) => v === from[i])) break;
    const t0 = performance.now();
    const pruned = structuredPrune(current, { widths, method, states: ctx.teacherStates }).model;
    const prunedAgreement = heldOutMetrics(ctx, { kind: 'float', model: pruned }).agreement;
    const tuned = await tuneModel(ctx, pruned, null, { finetune: o.finetune });
    const floatEval = await evaluateCandidate(ctx, { kind: 'float', model: tuned.model });
    // Fewer QAT rounds per attempt than for a single model: the search tries many sizes.
    const int8 = o.int8 ? await quantizeInt8(ctx, tuned.model, null, { qatRounds: 3, ...o.int8Options }) : null;
    const met = int8 ? int8.chosen.eval.targetsMet : floatEval.targetsMet;
    const a: ShrinkAttempt = {
      attempt: k,
      from,
      hidden: widths,
      step,
      model: tuned.model,
      float: floatEval,
      int8,
      prunedAgreement,
      finetune: tuned.finetune,
      targetsMet: met,
      seconds: (performance.now() - t0) / 1000,
    };
    attempts.push(a);
    onAttempt?.(a);
    if (met) {
      current = tuned.model;
      currentInt8 = int8;
      chosen = attempts.length - 1;
    } else {
      step /= 2;
      if (step < minStep) break;
    }
  }
  return { model: current, int8: currentInt8, attempts, chosen };
}
