/**
 * Public entry of the TFLite exporter: PolicyModel -> .tflite bytes (fp32, int8 or fp16), and an
 * atomic file write.
 */
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { forward } from '../../ir/forward.js';
import type { PolicyModel } from '../../ir/types.js';
import { validatePolicy } from '../../ir/validate.js';
import { quantizePolicy } from '../../quant/calibrate.js';
import { forwardInt8 } from '../../quant/forward-int8.js';
import type { QuantizedPolicy } from '../../quant/types.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import type { GraphSpec } from './graph.js';
import { lowerFloat, lowerInt8, type TfliteVariant } from './lower.js';
import { serializeGraph } from './serialize.js';
import { fromFloat16Bits, toFloat16Bits } from './float16.js';

export type { TfliteVariant } from './lower.js';

export interface WriteTfliteOptions {
  readonly variant: TfliteVariant;
  /** int8 only: raw observations, row-major [samples][obsDim], for min-max calibration. */
  readonly calibration?: Float32Array;
  /**
   * Batch dimension of the `obs` input. Default 1. `'dynamic'` writes shape [1, obsDim] with
   * shape_signature [-1, obsDim]; LiteRT.js 2.5 does not accept that (it checks input buffers
   * against [-1, obsDim] and refuses every batch), so it is only for other TFLite runtimes.
   */
  readonly batch?: number | 'dynamic';
  /** Embed the `edgedistill` metadata entry (head, env, card as JSON). Default true. */
  readonly metadata?: boolean;
}

/** Name of the Model.metadata entry holding our JSON description. */
export const TFLITE_METADATA_NAME = 'edgedistill';

/** Non-finite numbers (unbounded action boxes) become the strings "Infinity" / "-Infinity". */
function jsonReplacer(_key: string, v: unknown): unknown {
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
  return v;
}

export function tfliteMetadata(model: PolicyModel, variant: TfliteVariant, extra: Record<string, unknown> = {}): Uint8Array {
  const h = model.head;
  const head =
    h.kind === 'discrete'
      ? { kind: h.kind, output: h.output, n: h.n }
      : { kind: h.kind, dim: h.dim, squash: h.squash, low: h.low, high: h.high };
  const json = JSON.stringify(
    { producer: 'edgedistill', artifact: 'tflite', variant, envId: model.envId, obsDim: model.obsDim, head, card: model.card, ...extra },
    jsonReplacer,
  );
  return new TextEncoder().encode(json);
}

const PROBE_ROWS = 2;

/** Deterministic probe observations that exercise the network (around the normalization mean). */
function probeObservations(model: PolicyModel): Float32Array {
  const d = model.obsDim;
  const obs = new Float32Array(PROBE_ROWS * d);
  for (let r = 0; r < PROBE_ROWS; r++) {
    for (let i = 0; i < d; i++) {
      const z = Math.sin(1 + i + 7 * r);
      obs[r * d + i] = model.obsNorm ? model.obsNorm.mean[i] + z * model.obsNorm.std[i] : z;
    }
  }
  return obs;
}

function maxAbs(a: Float32Array): number {
  return a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}

/** The model as an fp16 artifact computes it: weights and biases rounded to float16. */
function roundedToFloat16(model: PolicyModel): PolicyModel {
  const r = (a: Float32Array) => a.map((v) => fromFloat16Bits(toFloat16Bits(v)));
  return { ...model, layers: model.layers.map((l) => ({ ...l, weight: r(l.weight), bias: r(l.bias) })) };
}

/**
 * The expectation the runtime loader checks at open time (LiteRT returns garbage instead of
 * failing): probe observations and this exporter's reference output, with a tolerance that
 * covers kernel differences (summation order, FMA, tanh approximations) but not garbage.
 */
function selfTest(model: PolicyModel, variant: TfliteVariant, qp?: QuantizedPolicy): Record<string, unknown> {
  const obs = probeObservations(model);
  let output: Float32Array;
  let tolerance: number;
  if (variant === 'int8' && qp) {
    output = forwardInt8(qp, obs, PROBE_ROWS);
    const last = qp.layers[qp.layers.length - 1];
    const step = (last.activationOutput ?? last.output).scale;
    const h = model.head;
    // tanh squashing scales an output step by up to (high - low) / 2; clipping does not amplify.
    const gain =
      h.kind === 'continuous' && h.squash === 'tanh' ? Math.max(1, ...Array.from(h.high, (hi, i) => (hi - h.low[i]) / 2)) : 1;
    // Other CPUs may requantize a value one step differently, and steps compound over layers.
    tolerance = 8 * step * gain + 1e-5;
  } else {
    output = forward(variant === 'fp16' ? roundedToFloat16(model) : model, obs, PROBE_ROWS);
    tolerance = 1e-4 * (1 + maxAbs(output));
  }
  return { obs: Array.from(obs), output: Array.from(output), tolerance };
}

function checkBatch(batch: number | 'dynamic' | undefined): void {
  if (batch === undefined || batch === 'dynamic') return;
  if (!Number.isInteger(batch) || batch < 1) {
    throw new EdgeDistillError('BAD_ARGUMENT', `batch must be a positive integer or 'dynamic', got ${String(batch)}`, {
      field: 'batch',
    });
  }
}

function withMetadata(g: GraphSpec, data: Uint8Array | null): GraphSpec {
  return data ? { ...g, metadata: [{ name: TFLITE_METADATA_NAME, data }] } : g;
}

/** .tflite bytes of an already quantized policy (what `writeTflite` does after calibration). */
export function writeTfliteQuantized(
  qp: QuantizedPolicy,
  opts: Omit<WriteTfliteOptions, 'variant' | 'calibration'> = {},
): Uint8Array {
  checkBatch(opts.batch);
  const g = lowerInt8(qp, { batch: opts.batch ?? 1 });
  const meta =
    opts.metadata === false
      ? null
      : tfliteMetadata(qp.model, 'int8', { calibrationSamples: qp.calibrationSamples, selfTest: selfTest(qp.model, 'int8', qp) });
  return serializeGraph(withMetadata(g, meta));
}

/**
 * .tflite bytes for `model`. int8 needs `calibration` (observations the policy will see; a few
 * hundred from rollouts is typical); the ranges come from the float model on those.
 */
export function writeTflite(model: PolicyModel, opts: WriteTfliteOptions): Uint8Array {
  validatePolicy(model);
  checkBatch(opts.batch);
  switch (opts.variant) {
    case 'fp32':
    case 'fp16': {
      const g = lowerFloat(model, opts.variant, { batch: opts.batch ?? 1 });
      const meta = opts.metadata === false ? null : tfliteMetadata(model, opts.variant, { selfTest: selfTest(model, opts.variant) });
      return serializeGraph(withMetadata(g, meta));
    }
    case 'int8': {
      if (!opts.calibration) {
        throw new EdgeDistillError('BAD_ARGUMENT', 'int8 export needs calibration observations', {
          field: 'calibration',
          suggestion: 'pass observations from rollouts of the policy (row-major samples x obsDim)',
        });
      }
      return writeTfliteQuantized(quantizePolicy(model, opts.calibration), opts);
    }
    default:
      throw new EdgeDistillError('BAD_ARGUMENT', `unknown TFLite variant ${String((opts as { variant: unknown }).variant)}`, {
        field: 'variant',
        suggestion: 'use fp32, int8 or fp16',
      });
  }
}

/** Writes `writeTflite(model, opts)` to `path` atomically (temp file, fsync, rename). */
export async function writeTfliteFile(path: string, model: PolicyModel, opts: WriteTfliteOptions): Promise<{ path: string; bytes: number }> {
  let bytes: Uint8Array;
  try {
    bytes = writeTflite(model, opts);
  } catch (e) {
    // Name the destination in errors about the model, so the CLI says which export failed.
    if (e instanceof EdgeDistillError && e.file === undefined) {
      throw new EdgeDistillError(e.code, e.message, { file: path, field: e.field, suggestion: e.suggestion, details: e.details, cause: e });
    }
    throw e;
  }
  await writeFileAtomic(path, bytes);
  return { path, bytes: bytes.length };
}
