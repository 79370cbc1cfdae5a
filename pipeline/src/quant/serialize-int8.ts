/**
 * policy-int8.json: a QuantizedPolicy on disk. Integers are stored, not floats: int8 weights and
 * int32 biases as base64 (little-endian), float32 scales as JSON numbers (exact: every float32 is a
 * double) and zero points as integers. Bias scales are not stored: they are
 * float32(inScale) * float32(weightScale[c]) by definition and are recomputed.
 *
 * The float parts (observation normalization, head, card) are those of policy.json. The float model
 * a QuantizedPolicy carries is, after reading, the dequantized one (weight = q * scale, bias = q *
 * biasScale): what the integers mean. forwardInt8 and the int8 exporters read only its
 * normalization and head, so a round trip computes the same integers.
 */
import { readFile } from 'node:fs/promises';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import type { Activation, PolicyModel } from '../ir/types.js';
import { floatsToBase64, policyFromJSON, policyToJSON, POLICY_FORMAT, POLICY_VERSION } from '../ir/serialize.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import {
  FLOAT32_EXACT_INT,
  LOGISTIC_OUTPUT,
  MAX_INPUT_BITS,
  MIN_INPUT_BITS,
  TANH_OUTPUT,
  biasScale,
  inputBounds,
  wideAccBound,
  type ActivationParams,
} from './int8.js';
import type { QuantizedLayer, QuantizedPolicy } from './types.js';

export const INT8_POLICY_FORMAT = 'edgedistill-policy-int8';
export const INT8_POLICY_VERSION = 1;

export interface QuantizedLayerJSON {
  inDim: number;
  outDim: number;
  activation: Activation;
  /** base64 of int8, row-major [outDim][inDim], symmetric (zero point 0). */
  weight: string;
  weightScales: number[];
  /** base64 of little-endian int32. */
  bias: string;
  input: ActivationParams;
  output: ActivationParams;
  activationOutput: ActivationParams | null;
}

export interface QuantizedPolicyJSON {
  format: typeof INT8_POLICY_FORMAT;
  version: number;
  envId: string | null;
  obsDim: number;
  obsNorm: { mean: string; std: string; clip: number | null } | null;
  head: ReturnType<typeof policyToJSON>['head'];
  card: Record<string, unknown>;
  calibrationSamples: number;
  /** Bits of the quantized observation: 8 (asymmetric int8), or 12 (symmetric, zero point 0; see QuantizedPolicy.inputBits). Absent: 8. */
  inputBits: number;
  input: ActivationParams;
  layers: QuantizedLayerJSON[];
}

const int8ToBase64 = (a: Int8Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

function int32ToBase64(a: Int32Array): string {
  const buf = Buffer.alloc(a.length * 4);
  for (let i = 0; i < a.length; i++) buf.writeInt32LE(a[i], i * 4);
  return buf.toString('base64');
}

export function quantizedToJSON(qp: QuantizedPolicy): QuantizedPolicyJSON {
  const p = policyToJSON(qp.model);
  return {
    format: INT8_POLICY_FORMAT,
    version: INT8_POLICY_VERSION,
    envId: p.envId,
    obsDim: p.obsDim,
    obsNorm: p.obsNorm,
    head: p.head,
    card: p.card,
    calibrationSamples: qp.calibrationSamples,
    inputBits: qp.inputBits ?? 8,
    input: { scale: qp.input.scale, zeroPoint: qp.input.zeroPoint },
    layers: qp.layers.map((l) => ({
      inDim: l.inDim,
      outDim: l.outDim,
      activation: l.activation,
      weight: int8ToBase64(l.weight),
      weightScales: Array.from(l.weightScales),
      bias: int32ToBase64(l.bias),
      input: { scale: l.input.scale, zeroPoint: l.input.zeroPoint },
      output: { scale: l.output.scale, zeroPoint: l.output.zeroPoint },
      activationOutput: l.activationOutput ? { scale: l.activationOutput.scale, zeroPoint: l.activationOutput.zeroPoint } : null,
    })),
  };
}

export function quantizedToText(qp: QuantizedPolicy): string {
  return `${JSON.stringify(quantizedToJSON(qp), null, 2)}\n`;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function need(cond: boolean, field: string, text: string, file?: string): asserts cond {
  if (!cond) throw new EdgeDistillError('BAD_MODEL', `${field} ${text}`, { file, field });
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function bytesOf(s: unknown, expected: number, field: string, file?: string): Buffer {
  need(typeof s === 'string' && s.length % 4 === 0 && BASE64.test(s), field, 'must be base64 text', file);
  const buf = Buffer.from(s as string, 'base64');
  need(buf.length === expected, field, `has wrong length: expected ${expected} bytes, got ${buf.length}`, file);
  return buf;
}

const isF32 = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && Math.fround(v) === v;

function params(v: unknown, field: string, file?: string): ActivationParams {
  need(isObj(v), field, 'must be an object {scale, zeroPoint}', file);
  need(isF32(v.scale) && v.scale > 0, `${field}.scale`, `must be a positive float32 number, got ${JSON.stringify(v.scale)}`, file);
  const zp = v.zeroPoint;
  need(typeof zp === 'number' && Number.isInteger(zp) && zp >= -128 && zp <= 127, `${field}.zeroPoint`, `must be an integer in [-128, 127], got ${JSON.stringify(zp)}`, file);
  return { scale: v.scale as number, zeroPoint: zp as number };
}

const same = (a: ActivationParams, b: ActivationParams) => a.scale === b.scale && a.zeroPoint === b.zeroPoint;
const f = Math.fround;

/** Parses and checks a policy-int8.json value (already JSON.parsed); errors name `file` and the field. */
export function quantizedFromJSON(json: unknown, file?: string): QuantizedPolicy {
  need(isObj(json), 'policy', 'must be a JSON object', file);
  need(json.format === INT8_POLICY_FORMAT, 'format', `must be "${INT8_POLICY_FORMAT}", got ${JSON.stringify(json.format)} (is this an edgedistill policy-int8.json?)`, file);
  need(json.version === INT8_POLICY_VERSION, 'version', `must be ${INT8_POLICY_VERSION}, got ${JSON.stringify(json.version)}`, file);
  const samples = json.calibrationSamples;
  need(typeof samples === 'number' && Number.isInteger(samples) && samples >= 0, 'calibrationSamples', 'must be a non-negative integer', file);
  const bits = json.inputBits ?? 8;
  need(typeof bits === 'number' && Number.isInteger(bits) && bits >= MIN_INPUT_BITS && bits <= MAX_INPUT_BITS, 'inputBits', `must be an integer in [${MIN_INPUT_BITS}, ${MAX_INPUT_BITS}], got ${JSON.stringify(json.inputBits)}`, file);
  const input = params(json.input, 'input', file);
  need(bits === 8 || input.zeroPoint === 0, 'input.zeroPoint', `must be 0 for a ${bits}-bit input (symmetric)`, file);
  need(Array.isArray(json.layers) && json.layers.length > 0, 'layers', 'must be a non-empty array', file);
  let prev = input;
  const layers: QuantizedLayer[] = [];
  const floatLayers: { inDim: number; outDim: number; activation: Activation; weight: string; bias: string }[] = [];
  (json.layers as unknown[]).forEach((raw, i) => {
    const at = `layers.${i}`;
    need(isObj(raw), at, 'must be an object', file);
    const { inDim, outDim, activation } = raw;
    need(typeof inDim === 'number' && Number.isInteger(inDim) && inDim > 0, `${at}.inDim`, 'must be a positive integer', file);
    need(typeof outDim === 'number' && Number.isInteger(outDim) && outDim > 0, `${at}.outDim`, 'must be a positive integer', file);
    need(['relu', 'tanh', 'sigmoid', 'none'].includes(activation as string), `${at}.activation`, `must be relu, tanh, sigmoid or none, got ${JSON.stringify(activation)}`, file);
    const wb = bytesOf(raw.weight, inDim * outDim, `${at}.weight`, file);
    const weight = new Int8Array(wb.buffer.slice(wb.byteOffset, wb.byteOffset + wb.length));
    const badW = weight.findIndex((v) => v === -128);
    need(badW < 0, `${at}.weight`, `value -128 at ${badW}: weights are symmetric int8 in [-127, 127]`, file);
    const ws = raw.weightScales;
    need(Array.isArray(ws) && ws.length === outDim && ws.every((s) => isF32(s) && s > 0), `${at}.weightScales`, `must be ${outDim} positive float32 numbers`, file);
    const bb = bytesOf(raw.bias, outDim * 4, `${at}.bias`, file);
    const bias = new Int32Array(outDim);
    for (let c = 0; c < outDim; c++) bias[c] = bb.readInt32LE(c * 4);
    const lin = params(raw.input, `${at}.input`, file);
    need(same(lin, prev), `${at}.input`, `must equal the previous tensor's parameters (scale ${prev.scale}, zeroPoint ${prev.zeroPoint})`, file);
    const output = params(raw.output, `${at}.output`, file);
    const want = activation === 'tanh' ? TANH_OUTPUT : activation === 'sigmoid' ? LOGISTIC_OUTPUT : null;
    const actOut = raw.activationOutput === null || raw.activationOutput === undefined ? null : params(raw.activationOutput, `${at}.activationOutput`, file);
    need(want === null ? actOut === null : actOut !== null && same(actOut, want), `${at}.activationOutput`, want ? `must be {scale: ${want.scale}, zeroPoint: ${want.zeroPoint}} for ${activation}` : 'must be null', file);
    const weightScales = Float32Array.from(ws as number[]);
    const biasScales = new Float32Array(outDim);
    for (let c = 0; c < outDim; c++) biasScales[c] = biasScale(lin.scale, weightScales[c]);
    layers.push({ inDim, outDim, activation: activation as Activation, weight, weightScales, bias, biasScales, input: lin, output, activationOutput: actOut });
    const wf = new Float32Array(inDim * outDim);
    for (let k = 0; k < wf.length; k++) wf[k] = f(weight[k] * weightScales[Math.floor(k / inDim)]);
    const bf = new Float32Array(outDim);
    for (let c = 0; c < outDim; c++) bf[c] = f(bias[c] * biasScales[c]);
    floatLayers.push({ inDim, outDim, activation: activation as Activation, weight: floatsToBase64(wf), bias: floatsToBase64(bf) });
    prev = actOut ?? output;
  });
  // The float side (normalization, head, card, and the layer chain's sizes) is checked as policy.json is.
  const model: PolicyModel = policyFromJSON(
    { format: POLICY_FORMAT, version: POLICY_VERSION, envId: json.envId, obsDim: json.obsDim, obsNorm: json.obsNorm, layers: floatLayers, head: json.head, card: json.card },
    file,
  );
  const qp: QuantizedPolicy = { model, input, layers, calibrationSamples: samples as number, ...(bits !== 8 ? { inputBits: bits } : {}) };
  if (bits !== 8) {
    const l0 = layers[0];
    need(layers.length >= 2 && (l0.activation === 'relu' || l0.activation === 'none'), 'inputBits', `a ${bits}-bit input needs a relu or linear first layer followed by another layer`, file);
    const bound = wideAccBound(l0.weight, l0.bias, l0.outDim, l0.inDim, inputBounds(bits).max);
    need(bound < FLOAT32_EXACT_INT, 'layers.0.bias', `a ${bits}-bit input needs the first layer's partial sums below 2^24, they reach ${bound}`, file);
  }
  return qp;
}

export async function writeQuantizedFile(path: string, qp: QuantizedPolicy): Promise<void> {
  await writeFileAtomic(path, quantizedToText(qp));
}

export async function readQuantizedFile(path: string): Promise<QuantizedPolicy> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new EdgeDistillError(code === 'ENOENT' ? 'BAD_ARGUMENT' : 'IO', code === 'ENOENT' ? 'file not found' : `cannot read: ${(e as Error).message}`, { file: path, cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new EdgeDistillError('BAD_MODEL', `not valid JSON: ${(e as Error).message}`, { file: path, cause: e });
  }
  return quantizedFromJSON(json, path);
}
