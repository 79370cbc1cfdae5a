/**
 * One fine-tuning pass of a compressed candidate: a DAgger round driven by the candidate itself
 * (so the states it drifts into get teacher labels), then fine-tuning with the distillation loss
 * under the candidate's parametrization (masks, codebooks, fake quantization).
 */
import type { PolicyModel } from '../ir/types.js';
import { addCandidateRound, type Candidate, type CompressContext } from './context.js';
import { finetune, type FinetuneOptions, type FinetuneResult, type HeadInfo } from './finetune.js';
import { TunableMlp, type FakeQuantSpec, type LayerParam } from './net.js';

export interface TuneOptions {
  /** Add a DAgger round first (default true); `driver` is who acts (default: the float candidate). */
  dagger?: boolean;
  driver?: Candidate;
  /** The DAgger round's vector steps and teacher share (addCandidateRound's defaults: 500, 0.5). */
  round?: { steps?: number; beta?: number };
  finetune?: FinetuneOptions;
  fakeQuant?: FakeQuantSpec | null;
  /** Loss override (default: the context's, from the distillation loss). */
  loss?: HeadInfo['loss'];
}

export interface TuneResult {
  model: PolicyModel;
  finetune: FinetuneResult;
}

/** Early stop a little above the agreement target, so the held-out estimate clears it too. */
export function stopAgreement(ctx: CompressContext): number | null {
  return ctx.targets.agreement === null ? null : Math.min(1, ctx.targets.agreement + 0.005);
}

export async function tuneModel(ctx: CompressContext, model: PolicyModel, params: readonly LayerParam[] | null, o: TuneOptions = {}): Promise<TuneResult> {
  if (o.dagger ?? true) await addCandidateRound(ctx, o.driver ?? { kind: 'float', model }, o.round);
  const net = new TunableMlp(model, params, 256);
  net.fakeQuant = o.fakeQuant ?? null;
  const head = o.loss ? { ...ctx.head, loss: o.loss } : ctx.head;
  const ft = finetune(net, head, ctx.train, ctx.validation, { stopAt: stopAgreement(ctx), ...o.finetune, seed: (o.finetune?.seed ?? 0) + ctx.nextSeed });
  return { model: net.toModel(model), finetune: ft };
}
