/**
 * compress: a distilled student made as small and cheap as it can be while it still acts like the
 * teacher, read top to bottom:
 *   0. (several students: fused into one MLP, averaged outputs),
 *   1. structured pruning by a fraction, or --auto-shrink (PoPS search for the smallest student),
 *   2. unstructured magnitude pruning to a sparsity (masked fine-tuning),
 *   3. weight sharing (per-layer k-means codebooks, centroid fine-tuning),
 *   4. int8 (PTQ min-max / percentile, QAT when PTQ misses) or fp16.
 * Every step is fine-tuned with the distillation loss against the teacher and reported with what it
 * gained (parameters, bytes) and what it cost (agreement, return retention).
 */
import { arch, cpus, platform } from 'node:os';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import type { EnvOptions } from '@edgedistill/runtime/envs';
import { checkEnvOptions } from '../train/env-options.js';
import type { LossName, TeacherLike } from '../distill/index.js';
import { resolveTrainerBackend } from '../distill/mlp-train.js';
import { forward, paramCount } from '../ir/forward.js';
import { policyToText } from '../ir/serialize.js';
import type { PolicyModel } from '../ir/types.js';
import { quantizedToText } from '../quant/serialize-int8.js';
import type { QuantizedPolicy } from '../quant/types.js';
import { autoShrink, type AutoShrinkOptions } from './auto-shrink.js';
import { createContext, evaluateCandidate, heldOutMetrics, type CompressContext, type Evaluation } from './context.js';
import type { FinetuneOptions } from './finetune.js';
import { roundModelToFloat16 } from './fp16.js';
import { fuseEnsemble } from './fusion.js';
import type { ImportanceMethod } from './importance.js';
import { applyMasks, magnitudeMasks, sparsityOf, type SparsityScope } from './magnitude.js';
import type { LayerParam } from './net.js';
import { quantizeInt8, type Int8Outcome } from './quantize.js';
import { makeRow, type CompressReport, type RowInput, type StepRow } from './report.js';
import { shareWeights } from './share.js';
import { codebookBytes, float16Bytes, float32Bytes, int8Bytes, sparseBytes, textBytes } from './size.js';
import { hiddenOf, structuredPrune } from './structured.js';
import { tuneModel } from './tune.js';

export type PruneSpec =
  | { kind: 'structured'; fraction: number; method?: ImportanceMethod }
  | { kind: 'unstructured'; sparsity: number; scope?: SparsityScope };

export interface CompressProgress {
  phase: string;
  detail: string;
  /** Steps reported so far. */
  rows: number;
}

export interface CompressOptions {
  /** The distilled student, or several (fused into one, averaged outputs, before anything else). */
  policy: PolicyModel | readonly PolicyModel[];
  /** The teacher(s) the student was distilled from (loaded). */
  teacher: TeacherLike | readonly TeacherLike[];
  /** Default: the policy's envId. */
  envId?: string | null;
  /** Env constructor options (a variant, e.g. {gravity: 12}): states and returns come from it. */
  envOptions?: EnvOptions;
  prune?: PruneSpec | null;
  /** Weight sharing: centroids per layer (2..256). */
  share?: number | null;
  quantize?: 'int8' | 'fp16' | null;
  autoShrink?: boolean | AutoShrinkOptions;
  /** Quantization-aware fine-tuning even when PTQ meets the targets. */
  qat?: boolean;
  /** int8 input bits: 'auto' (default: 12 when 8-bit PTQ misses the targets and the model allows), 8 or 12. */
  inputBits?: 'auto' | 8 | 12;
  percentile?: number;
  outputMargin?: number;
  targets?: { agreement?: number; retention?: number };
  /** Default: the student card's loss and tau. */
  loss?: LossName;
  tau?: number;
  episodes?: number;
  evalSeed?: number;
  /** Seed of the random baseline (distill: its seed + 1). */
  randomSeed?: number;
  seed?: number;
  finetune?: FinetuneOptions;
  /** Provenance for the card and report (e.g. the input directory). */
  source?: string | null;
  onProgress?: (p: CompressProgress) => void;
}

export interface CompressResult {
  /** OUT/policy.json: the compressed float model (fp16-rounded weights with --quantize fp16). */
  model: PolicyModel;
  /** OUT/policy-int8.json with --quantize int8. */
  quantized: QuantizedPolicy | null;
  report: CompressReport;
}

const cardString = (card: Record<string, unknown>, key: string): string | undefined => (typeof card[key] === 'string' ? (card[key] as string) : undefined);

export function machineName(): string {
  const c = cpus();
  return `${platform()} ${arch()}, ${c[0]?.model?.trim() ?? 'unknown cpu'} x${c.length}, node ${process.version}`;
}

export async function compress(o: CompressOptions): Promise<CompressResult> {
  const t0 = performance.now();
  const members = Array.isArray(o.policy) ? (o.policy as PolicyModel[]) : [o.policy as PolicyModel];
  if (members.length === 0) throw new EdgeDistillError('BAD_ARGUMENT', 'compress needs a policy', { field: 'policy' });
  const student = members.length > 1 ? fuseEnsemble(members) : members[0];
  const card = members[0].card;
  const envId = o.envId ?? student.envId ?? members[0].envId ?? cardString(card, 'env') ?? null;
  if (!envId) {
    throw new EdgeDistillError('BAD_ARGUMENT', 'compress needs the environment (to collect teacher-visited states and measure returns)', {
      field: 'env',
      suggestion: 'pass --env, or compress a policy distilled with --env',
    });
  }
  const teachers = Array.isArray(o.teacher) ? (o.teacher as TeacherLike[]) : [o.teacher as TeacherLike];
  const cardLoss = cardString(card, 'loss') as LossName | undefined;
  const cardTau = typeof card.tau === 'number' ? card.tau : undefined;
  const progress = (phase: string, detail: string) => o.onProgress?.({ phase, detail, rows: rows.length });
  const rows: StepRow[] = [];
  const notes: string[] = [];
  let prevKept: StepRow | null = null;
  let teacherParams: number | null = null;
  const push = (r: RowInput): StepRow => {
    const row = makeRow(r, teacherParams, prevKept);
    rows.push(row);
    if (row.kept) prevKept = row;
    progress(row.step, `${row.label}: ${row.params} params, ${row.agreement !== null ? `agreement ${(row.agreement * 100).toFixed(2)}%` : `action error ${row.actionError?.toFixed(4)}`}, retention ${row.returnRetention === null ? '-' : (row.returnRetention * 100).toFixed(1) + '%'}`);
    return row;
  };
  const floatFile = (m: PolicyModel) => textBytes(policyToText(m));
  const floatRow = (step: RowInput['step'], label: string, model: PolicyModel, ev: Evaluation, extra: Partial<RowInput>, t: number): StepRow =>
    push({ step, label, semantics: 'float32', kept: true, model, bytes: float32Bytes(model), fileBytes: floatFile(model), eval: ev, seconds: (performance.now() - t) / 1000, ...extra });

  progress('data', `collecting teacher-visited states on ${envId}`);
  checkEnvOptions(envId, o.envOptions);
  const ctx: CompressContext = await createContext({
    student,
    teachers,
    envId,
    envOptions: o.envOptions,
    loss: o.loss ?? cardLoss,
    tau: o.tau ?? cardTau,
    episodes: o.episodes,
    evalSeed: o.evalSeed,
    randomSeed: o.randomSeed ?? (typeof card.seed === 'number' ? card.seed + 1 : 1),
    seed: o.seed,
    targets: o.targets,
  });
  const tp = teachers.map((t) => (t.model ? paramCount(t.model) : ((t as { params?: number }).params ?? null)));
  teacherParams = tp.every((p) => typeof p === 'number') ? Math.max(...(tp as number[])) : null;

  // 0. The input student (or the fused ensemble).
  let t = performance.now();
  let current = student;
  const label0 = members.length > 1 ? `fusion of ${members.length} students (mean)` : 'student (input)';
  floatRow(members.length > 1 ? 'fusion' : 'student', label0, current, await evaluateCandidate(ctx, { kind: 'float', model: current }), {
    details: members.length > 1 ? { members: members.map((m) => ({ hidden: hiddenOf(m), params: paramCount(m) })) } : { source: o.source ?? null },
  }, t);
  /** Index of the last float row (OUT/policy.json holds its model; with int8, the float weights the int8 row came from). */
  let floatRowIndex = 0;
  let params: LayerParam[] | null = null;
  let int8Pre: { model: PolicyModel; outcome: Int8Outcome } | null = null;
  const wantInt8 = o.quantize === 'int8';
  const int8Options = { qat: o.qat ? ('always' as const) : ('auto' as const), percentile: o.percentile, outputMargin: o.outputMargin, inputBits: o.inputBits };

  // 1. Structured pruning / auto-shrink.
  if (o.autoShrink) {
    const as = typeof o.autoShrink === 'object' ? o.autoShrink : {};
    progress('auto-shrink', `searching from ${hiddenOf(current).join('x')}`);
    const res = await autoShrink(ctx, current, { int8: wantInt8, int8Options, finetune: o.finetune, ...as }, (a) =>
      progress('auto-shrink', `attempt ${a.attempt}: ${a.hidden.join('x')} ${a.targetsMet ? 'met' : 'missed'}`),
    );
    res.attempts.forEach((a) => {
      const q = a.int8?.chosen ?? null;
      push({
        step: 'auto-shrink',
        label: `auto-shrink #${a.attempt} ${a.from.join('x')} -> ${a.hidden.join('x')}${q ? ` (${q.label})` : ''}`,
        semantics: q ? 'int8' : 'float32',
        // Every attempt that met the targets was the base of the next one.
        kept: a.targetsMet,
        model: a.model,
        bytes: q ? int8Bytes(q.qp) : float32Bytes(a.model),
        fileBytes: q ? textBytes(quantizedToText(q.qp)) : floatFile(a.model),
        eval: q ? q.eval : a.float,
        finetune: a.finetune,
        details: {
          step: a.step,
          prunedAgreement: a.prunedAgreement,
          float: { agreement: a.float.agreement, actionError: a.float.actionError, returnRetention: a.float.returnRetention, targetsMet: a.float.targetsMet },
          int8: a.int8 ? a.int8.trials.map((tr) => ({ label: tr.label, agreement: tr.eval.agreement, returnRetention: tr.eval.returnRetention, targetsMet: tr.eval.targetsMet })) : null,
        },
        seconds: a.seconds,
      });
    });
    if (res.chosen >= 0) floatRowIndex = rows.length - res.attempts.length + res.chosen;
    if (res.chosen < 0) notes.push('auto-shrink: no smaller student met the targets; the input student is kept');
    current = res.model;
    if (res.int8) int8Pre = { model: res.model, outcome: res.int8 };
  } else if (o.prune?.kind === 'structured') {
    t = performance.now();
    const method = o.prune.method ?? 'activation';
    progress('structured', `removing ${(o.prune.fraction * 100).toFixed(0)}% of the hidden units (${method})`);
    const sp = structuredPrune(current, { fraction: o.prune.fraction, method, states: ctx.teacherStates });
    const prunedAgreement = heldOutMetrics(ctx, { kind: 'float', model: sp.model }).agreement;
    const tuned = await tuneModel(ctx, sp.model, null, { finetune: o.finetune });
    const from = hiddenOf(current);
    current = tuned.model;
    floatRow('structured', `structured ${from.join('x')} -> ${sp.hidden.join('x')} (${method})`, current, await evaluateCandidate(ctx, { kind: 'float', model: current }), {
      finetune: tuned.finetune,
      details: { fraction: o.prune.fraction, method, from, prunedAgreement },
    }, t);
    floatRowIndex = rows.length - 1;
  }

  // 2. Unstructured magnitude pruning.
  if (o.prune?.kind === 'unstructured') {
    t = performance.now();
    const scope = o.prune.scope ?? 'global';
    progress('unstructured', `pruning ${(o.prune.sparsity * 100).toFixed(0)}% of the weights (${scope})`);
    // Gradual pruning (Zhu & Gupta 2017): sparsity s_k = s (1 - (1 - k/K)^3) over K stages, each
    // fine-tuned with the pruned weights held at 0, so the network adapts before the next cut.
    const K = 4;
    const before = float32Bytes(current);
    const oneShotAgreement = heldOutMetrics(ctx, { kind: 'float', model: applyMasks(current, magnitudeMasks(current, o.prune.sparsity, scope)) }).agreement;
    let tuned: Awaited<ReturnType<typeof tuneModel>> | null = null;
    const schedule: number[] = [];
    for (let k = 1; k <= K; k++) {
      const s = o.prune.sparsity * (1 - (1 - k / K) ** 3);
      schedule.push(s);
      const masks = magnitudeMasks(current, s, scope);
      params = masks.map((mask) => ({ kind: 'dense', mask }));
      const steps = k < K ? Math.ceil((o.finetune?.steps ?? 3000) / 2) : (o.finetune?.steps ?? 3000);
      tuned = await tuneModel(ctx, applyMasks(current, masks), params, { finetune: { ...o.finetune, steps } });
      current = tuned.model;
    }
    const sp = sparsityOf(current);
    floatRow('unstructured', `unstructured ${(sp.sparsity * 100).toFixed(1)}% sparse (${scope})`, current, await evaluateCandidate(ctx, { kind: 'float', model: current }), {
      finetune: tuned!.finetune,
      details: {
        targetSparsity: o.prune.sparsity,
        schedule,
        scope,
        sparsity: sp.sparsity,
        sparsityPerLayer: sp.perLayer,
        /** Held-out agreement right after pruning to the final sparsity in one shot, without fine-tuning. */
        oneShotAgreement,
        gzipBefore: before.gzip,
        gzipAfter: float32Bytes(current).gzip,
        sparseFormat: sparseBytes(current),
        bytesNote: 'bytes = dense float32 (LE) weights+biases; gzip = gzip -9 of those bytes; sparseFormat = 1-bit occupancy bitmap + nonzero float32 + biases',
      },
    }, t);
    floatRowIndex = rows.length - 1;
  }

  // 3. Weight sharing.
  if (o.share) {
    t = performance.now();
    progress('share', `k-means with ${o.share} centroids per layer`);
    const before = float32Bytes(current);
    const sh = shareWeights(current, o.share, { seed: o.seed ?? 0 });
    const sharedParams: LayerParam[] = sh.layers.map((info, i) => ({ kind: 'shared', indices: sh.model.layers[i].codebook!.indices, k: info.k, pinned: info.zeroIndex }));
    const clusteredAgreement = heldOutMetrics(ctx, { kind: 'float', model: sh.model }).agreement;
    const tuned = await tuneModel(ctx, sh.model, sharedParams, { finetune: o.finetune });
    params = sharedParams;
    current = tuned.model;
    const after = codebookBytes(current);
    push({
      step: 'share',
      label: `share k=${o.share} (per-layer codebooks)`,
      semantics: 'float32',
      kept: true,
      model: current,
      bytes: after,
      fileBytes: floatFile(current),
      eval: await evaluateCandidate(ctx, { kind: 'float', model: current }),
      finetune: tuned.finetune,
      details: {
        k: sh.layers.map((l) => l.k),
        clusteredAgreement,
        bytesBefore: before.raw,
        bytesAfter: after.raw,
        bytesNote: 'bytes = float32 centroids + bit-packed indices (ceil(log2 k) bits) + float32 biases; before = dense float32',
      },
      seconds: (performance.now() - t) / 1000,
    });
    floatRowIndex = rows.length - 1;
  }

  // 4. Quantization.
  let quantized: QuantizedPolicy | null = null;
  let int8Row: number | null = null;
  if (wantInt8) {
    t = performance.now();
    progress('int8', 'post-training quantization (min-max and percentile calibration)');
    const outcome = int8Pre && int8Pre.model === current ? int8Pre.outcome : await quantizeInt8(ctx, current, params, int8Options);
    for (const tr of outcome.trials) {
      const kept = tr === outcome.chosen;
      push({
        step: tr.qat ? 'int8-qat' : 'int8-ptq',
        label: tr.label,
        semantics: 'int8',
        kept,
        model: tr.float,
        bytes: int8Bytes(tr.qp),
        fileBytes: textBytes(quantizedToText(tr.qp)),
        eval: tr.eval,
        finetune: tr.finetune,
        details: {
          inputBits: tr.inputBits,
          calibration: tr.method,
          percentile: tr.method === 'percentile' ? tr.ranges.percentile : null,
          outputMargin: tr.ranges.outputMargin,
          calibrationStates: tr.ranges.samples,
          ranges: { input: tr.ranges.input, layers: tr.ranges.layers },
          bytesNote: 'bytes = int8 weights + int32 biases + float32 per-channel weight scales + (float32 scale, int8 zero point) per activation tensor',
        },
        seconds: (performance.now() - t) / 1000,
      });
      if (kept) int8Row = rows.length - 1;
    }
    quantized = outcome.chosen.qp;
    // policy.json holds the float weights policy-int8.json was quantized from (QAT-trained, or
    // range-equalized: the same function), so the export's parity gate compares int8 with its source.
    current = outcome.chosen.float;
    if (outcome.chosen.qat) notes.push('int8 came from quantization-aware fine-tuning: policy-int8.json holds those integers; policy.json holds the fine-tuned float weights they were quantized from');
    if (outcome.chosen.inputBits !== 8) notes.push(`int8 with a ${outcome.chosen.inputBits}-bit quantized observation: 8-bit input quantization missed the targets; the first layer keeps int8 weights, every later layer is int8 as usual`);
  } else if (o.quantize === 'fp16') {
    t = performance.now();
    const r = roundModelToFloat16(current);
    const set = ctx.heldOut;
    const a = forward(current, set.raw.subarray(0, set.size * set.obsDim), set.size);
    const b = forward(r.model, set.raw.subarray(0, set.size * set.obsDim), set.size);
    let maxOut = 0;
    for (let k = 0; k < a.length; k++) maxOut = Math.max(maxOut, Math.abs(a[k] - b[k]));
    current = r.model;
    push({
      step: 'fp16',
      label: 'fp16 weights',
      semantics: 'float16',
      kept: true,
      model: current,
      bytes: float16Bytes(current),
      fileBytes: floatFile(current),
      eval: await evaluateCandidate(ctx, { kind: 'float', model: current }),
      details: { maxAbsWeightChange: r.maxAbsChange, overflow: r.overflow, maxAbsOutputChange: maxOut, note: 'weights and biases rounded to binary16 (half to even), computed in float32' },
      seconds: (performance.now() - t) / 1000,
    });
    floatRowIndex = rows.length - 1;
  }

  const finalRow = int8Row !== null ? rows[int8Row] : rows[floatRowIndex];
  const outModel: PolicyModel = {
    ...current,
    card: {
      ...current.card,
      compress: {
        source: o.source ?? null,
        steps: rows.filter((r) => r.kept).map((r) => r.label),
        hidden: hiddenOf(current),
        params: paramCount(current),
        agreement: finalRow.agreement,
        actionError: finalRow.actionError,
        returnRetention: finalRow.returnRetention,
        semantics: finalRow.semantics,
        ...(quantized
          ? {
              int8: {
                scheme: (quantized.inputBits ?? 8) === 8 ? 'int8' : `int8, ${quantized.inputBits}-bit input`,
                inputBits: quantized.inputBits ?? 8,
                weights: 'int8 per output channel (symmetric)',
                activations: 'int8 per tensor (asymmetric)',
                qat: rows[int8Row!].step === 'int8-qat',
              },
            }
          : {}),
      },
    },
  };
  if (quantized) quantized = { ...quantized, model: { ...quantized.model, card: outModel.card } };
  const report: CompressReport = {
    env: envId,
    envOptions: o.envOptions ?? null,
    teacher: {
      files: teachers.map((x) => x.file ?? 'in-memory'),
      sha256: teachers.map((x) => x.sha256 ?? null),
      params: teacherParams,
      return: ctx.teacherReturn,
    },
    random: { return: ctx.randomReturn },
    episodes: ctx.episodes,
    evalSeed: ctx.evalSeed,
    targets: ctx.targets,
    options: {
      prune: o.prune ?? null,
      share: o.share ?? null,
      quantize: o.quantize ?? null,
      autoShrink: o.autoShrink ?? false,
      qat: o.qat ?? false,
      percentile: o.percentile ?? 99.99,
      outputMargin: o.outputMargin ?? 0.1,
      loss: ctx.spec.loss,
      tau: ctx.spec.tau,
      seed: o.seed ?? 0,
    },
    steps: rows,
    final: { float: floatRowIndex, int8: int8Row },
    result: {
      hidden: finalRow.hidden,
      params: finalRow.params,
      paramRatio: finalRow.paramRatio,
      semantics: finalRow.semantics,
      agreement: finalRow.agreement,
      actionError: finalRow.actionError,
      returnRetention: finalRow.returnRetention,
      targetsMet: finalRow.targetsMet,
    },
    notes,
    data: { train: ctx.train.size, validation: ctx.validation.size, heldOut: ctx.heldOut.size, teacherStates: ctx.teacherStates.n },
    // What ran the fine-tuning passes (TunableMlp; EDGEDISTILL_TRAINER overrides it like distill's).
    backend: resolveTrainerBackend(),
    machine: machineName(),
    wallSeconds: (performance.now() - t0) / 1000,
  };
  return { model: outModel, quantized, report };
}
