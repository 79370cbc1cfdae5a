/**
 * Wide-input int8 (QuantizedPolicy.inputBits 12): the observation quantized to 12 bits, int8
 * weights, the first layer computed by the ONNX / TFLite artifacts in float ops over integer values
 * (exact below 2^24), every later layer int8. Every artifact must compute forwardInt8's integers:
 * onnxruntime-node, LiteRT, the compiled JS module and the C artifact, bit for bit.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTfliteModel } from '../../runtime/src/backends/litert/index.js';
import { argmaxRow, forward } from '../../pipeline/src/ir/forward.js';
import type { PolicyModel } from '../../pipeline/src/ir/types.js';
import { argmaxAgreement, forwardInt8, forwardInt8Traced, planInt8, quantizeInput, type QuantizedPolicy } from '../../pipeline/src/quant/index.js';
import { calibrateRanges, quantizePolicyCalibrated, quantizeWithRanges } from '../../pipeline/src/quant/calibrate-percentile.js';
import { quantizedFromJSON, quantizedToJSON } from '../../pipeline/src/quant/serialize-int8.js';
import { FLOAT32_EXACT_INT, inputBounds, wideAccBound } from '../../pipeline/src/quant/int8.js';
import { writeTfliteQuantized } from '../../pipeline/src/export/tflite/index.js';
import { quantizedToModelProto, quantizedToOnnx } from '../../pipeline/src/export/onnx-int8.js';
import { emitInt8Module, importModuleFile } from '../../pipeline/src/export/js/index.js';
import { emitC } from '../../pipeline/src/export/c/emit.js';
import { compileAndRunC, findGcc } from '../../pipeline/src/export/c/run.js';
import { mlp } from '../../pipeline/src/ir/build.js';
import { cartpoleGolden, cartpoleStudent, diffCount, randomObs, runOrt, shapes, tmp } from './helpers.js';

const N = 1000;
let dir: string;
let student: PolicyModel;
let golden: Float32Array;
let calib: Float32Array;

beforeAll(async () => {
  dir = tmp();
  student = await cartpoleStudent();
  golden = await cartpoleGolden(N, 0);
  calib = await cartpoleGolden(1000, 1000);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Observations that also leave the calibrated range (saturation at +-2047). */
function withOutliers(obs: Float32Array, d: number, seed: number): Float32Array {
  const extra = randomObs(200, d, seed, -20, 20);
  const all = new Float32Array(obs.length + extra.length);
  all.set(obs);
  all.set(extra, obs.length);
  return all;
}

function cases(): { name: string; model: PolicyModel; qp: QuantizedPolicy; obs: Float32Array }[] {
  const relu = shapes().filter((s) => s.model.layers.length >= 2 && (s.model.layers[0].activation === 'relu' || s.model.layers[0].activation === 'none'));
  return [
    { name: 'CartPole 4-32-32-2 student', model: student, qp: quantizePolicyCalibrated(student, calib, { inputBits: 12 }), obs: withOutliers(golden, 4, 7) },
    ...relu.map((s) => ({
      name: s.name,
      model: s.model,
      qp: quantizePolicyCalibrated(s.model, s.obs(500, 1), { inputBits: 12 }),
      obs: withOutliers(s.obs(N, 2), s.model.obsDim, 8),
    })),
  ];
}

async function runTflite(bytes: Uint8Array, obs: Float32Array, rows: number): Promise<Float32Array> {
  const m = await openTfliteModel(bytes);
  try {
    return await m.run(obs, rows);
  } finally {
    m.dispose();
  }
}

describe('12-bit input quantization (reference)', () => {
  it('input codes span +-2047 with zero point 0; the first layer stays float32-exact', () => {
    expect(inputBounds(8)).toEqual({ min: -128, max: 127 });
    expect(inputBounds(12)).toEqual({ min: -2047, max: 2047 });
    expect(() => inputBounds(7)).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
    const qp = quantizePolicyCalibrated(student, calib, { inputBits: 12 });
    expect(qp.inputBits).toBe(12);
    expect(qp.input.zeroPoint).toBe(0);
    const l = qp.layers[0];
    expect(wideAccBound(l.weight, l.bias, l.outDim, l.inDim, 2047)).toBeLessThan(FLOAT32_EXACT_INT);
    const plan = planInt8(qp);
    expect([plan.inputMin, plan.inputMax]).toEqual([-2047, 2047]);
    const t = forwardInt8Traced(qp, new Float32Array([1e6, -1e6, 0, 0.01]), 1).trace;
    expect(t.input).toBeInstanceOf(Int16Array);
    expect(Array.from(t.input).slice(0, 2)).toEqual([2047, -2047]);
    // Hand-checked: scale 0.5 -> 1.25 / 0.5 = 2.5 rounds half to even to 2; 3000 saturates.
    const p = { scale: 0.5, zeroPoint: 0 };
    expect([1.25, 1.75, -1.25, 3000, -3000, 1023.4].map((v) => quantizeInput(v, p, 'fp32', 12))).toEqual([2, 4, -2, 2047, -2047, 2047]);
  });

  it('agrees with the fp32 student more often than 8-bit input does (CartPole fixture, PTQ)', () => {
    const ranges8 = calibrateRanges(student, calib, { method: 'minmax' });
    const ranges12 = calibrateRanges(student, calib, { method: 'minmax', inputBits: 12 });
    const ref = forward(student, golden, N);
    const a8 = argmaxAgreement(forwardInt8(quantizeWithRanges(student, ranges8), golden, N), ref, 2);
    const a12 = argmaxAgreement(forwardInt8(quantizeWithRanges(student, ranges12), golden, N), ref, 2);
    expect(a12).toBeGreaterThan(a8);
  });

  it('refuses what the exporters cannot compute exactly: tanh first layer, a single layer', () => {
    const tanh = shapes().find((s) => s.model.layers[0].activation === 'tanh')!;
    expect(() => quantizePolicyCalibrated(tanh.model, tanh.obs(100, 1), { inputBits: 12 })).toThrow(expect.objectContaining({ code: 'UNSUPPORTED', field: 'inputBits' }));
    const one = mlp({ obsDim: 3, hidden: [], activation: 'relu', head: { kind: 'discrete', n: 2 }, init: { seed: 3 } });
    expect(() => quantizePolicyCalibrated(one, randomObs(50, 3, 1), { inputBits: 12 })).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }));
  });

  it('policy-int8.json keeps inputBits; a file without it is 8-bit; a bad width is refused', () => {
    const qp = quantizePolicyCalibrated(student, calib, { inputBits: 12 });
    const j = quantizedToJSON(qp);
    expect(j.inputBits).toBe(12);
    const back = quantizedFromJSON(JSON.parse(JSON.stringify(j)), 'p.json');
    expect(back.inputBits).toBe(12);
    expect(diffCount(forwardInt8(back, golden, N), forwardInt8(qp, golden, N))).toBe(0);
    const bad = JSON.parse(JSON.stringify(j));
    bad.inputBits = 13.5;
    expect(() => quantizedFromJSON(bad, 'p.json')).toThrow(expect.objectContaining({ code: 'BAD_MODEL', file: 'p.json', field: 'inputBits' }));
    const nonzero = JSON.parse(JSON.stringify(j));
    nonzero.input.zeroPoint = 3;
    nonzero.layers[0].input.zeroPoint = 3;
    expect(() => quantizedFromJSON(nonzero, 'p.json')).toThrow(expect.objectContaining({ code: 'BAD_MODEL', field: 'input.zeroPoint' }));
    const old = JSON.parse(JSON.stringify(quantizedToJSON(quantizePolicyCalibrated(student, calib))));
    delete old.inputBits;
    expect(quantizedFromJSON(old).inputBits ?? 8).toBe(8);
  });
});

describe('12-bit input artifacts', () => {
  it('ONNX: Round / Clip and a float Gemm for the first layer, QGemm for the rest in onnxruntime', async () => {
    const qp = cases()[0].qp;
    const ops = quantizedToModelProto(qp).graph!.node!.map((n) => n.opType);
    expect(ops).toEqual(expect.arrayContaining(['Round', 'Clip', 'Gemm', 'QuantizeLinear', 'DequantizeLinear']));
    const file = join(dir, 'opt.onnx');
    await runOrt(quantizedToOnnx(qp), golden.subarray(0, 4), 1, 4, { optimizedModelFilePath: file });
    const { onnx } = await import('../../pipeline/src/onnx/proto.js');
    const { readFileSync } = await import('node:fs');
    const opt = onnx.ModelProto.decode(readFileSync(file)).graph!.node!.map((n) => n.opType!);
    expect(opt.filter((o) => o === 'QGemm').length, opt.join(',')).toBe(qp.layers.length - 1);
  });

  it('onnxruntime-node == LiteRT == compiled JS == forwardInt8, bit for bit', async () => {
    for (const [i, c] of cases().entries()) {
      const d = c.model.obsDim;
      const rows = c.obs.length / d;
      const ref = forwardInt8(c.qp, c.obs, rows);
      const viaOrt = await runOrt(quantizedToOnnx(c.qp), c.obs, rows, d);
      expect(diffCount(viaOrt, ref), `${c.name}: ORT vs forwardInt8`).toBe(0);
      const viaLiteRt = await runTflite(writeTfliteQuantized(c.qp), c.obs, rows);
      expect(diffCount(viaLiteRt, ref), `${c.name}: LiteRT vs forwardInt8`).toBe(0);
      const file = join(dir, `m${i}.mjs`);
      writeFileSync(file, emitInt8Module(c.qp));
      const js = await importModuleFile(file);
      const outDim = ref.length / rows;
      const viaJs = new Float32Array(rows * outDim);
      for (let r = 0; r < rows; r++) viaJs.set(js.forward(c.obs.subarray(r * d, (r + 1) * d)), r * outDim);
      expect(diffCount(viaJs, ref), `${c.name}: JS vs forwardInt8`).toBe(0);
    }
  });

  it('C artifact (gcc) == forwardInt8, bit for bit, policy_act included', () => {
    const gcc = findGcc();
    expect(gcc).not.toBeNull();
    for (const c of cases()) {
      const d = c.model.obsDim;
      const rows = c.obs.length / d;
      const ref = forwardInt8(c.qp, c.obs, rows);
      const discrete = c.model.head.kind === 'discrete';
      const outDim = ref.length / rows;
      const { header, source } = emitC(c.qp);
      expect(source).toContain('int16_t x0');
      const res = compileAndRunC(header, source, c.obs, rows, outDim, discrete, gcc!);
      expect(diffCount(res.output, ref), c.name).toBe(0);
      if (discrete) for (let r = 0; r < rows; r++) expect(res.actions![r]).toBe(argmaxRow(ref, outDim, r));
    }
  });
});
