/**
 * int8 (QDQ) and fp16 ONNX: file structure, onnxruntime's optimized graph, and cross-runtime
 * agreement with the TFLite artifacts in LiteRT and with forwardInt8 on teacher-visited states.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTfliteModel } from '../../runtime/src/backends/litert/index.js';
import { forward } from '../../pipeline/src/ir/forward.js';
import type { PolicyModel } from '../../pipeline/src/ir/types.js';
import { policyToOnnx } from '../../pipeline/src/onnx/write.js';
import { DataType, onnx, num } from '../../pipeline/src/onnx/proto.js';
import { forwardInt8, quantizePolicy, argmaxAgreement, type QuantizedPolicy } from '../../pipeline/src/quant/index.js';
import { writeTflite, writeTfliteQuantized } from '../../pipeline/src/export/tflite/index.js';
import { quantizedToModelProto, quantizedToOnnx } from '../../pipeline/src/export/onnx-int8.js';
import { policyToFp16ModelProto, policyToOnnxFp16, roundWeightsToFloat16 } from '../../pipeline/src/export/onnx-fp16.js';
import { cartpoleGolden, cartpoleStudent, diffCount, maxAbs, runOrt, shapes, tmp } from './helpers.js';

const f = Math.fround;
const N = 1000;
let dir: string;
let student: PolicyModel;
let golden: Float32Array;
let qp: QuantizedPolicy;

beforeAll(async () => {
  dir = tmp();
  student = await cartpoleStudent();
  golden = await cartpoleGolden(N, 0);
  qp = quantizePolicy(student, await cartpoleGolden(1000, 1000));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Cases: the CartPole student on teacher-visited states, and the other shapes on random ones. */
function cases(): { name: string; model: PolicyModel; qp: QuantizedPolicy; obs: Float32Array }[] {
  return [
    { name: 'CartPole 4-32-32-2 student', model: student, qp, obs: golden },
    ...shapes().map((s) => ({ name: s.name, model: s.model, qp: quantizePolicy(s.model, s.obs(500, 1)), obs: s.obs(N, 2) })),
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

describe('int8 ONNX (QDQ)', () => {
  it('structure: QuantizeLinear / DequantizeLinear, per-channel int8 weights on axis 0, int32 bias at in*w scale, uint8 activations', () => {
    const m = quantizedToModelProto(qp);
    const g = m.graph!;
    const inits = new Map(g.initializer!.map((t) => [t.name!, t]));
    const ops = g.node!.map((n) => n.opType);
    expect(ops.filter((o) => o === 'Gemm')).toHaveLength(3);
    expect(ops).toContain('QuantizeLinear');
    expect(m.opsetImport![0].version).toBe(13);
    const floats = (name: string) => {
      const t = inits.get(name)!;
      const b = Buffer.from(t.rawData!);
      return Array.from({ length: b.length / 4 }, (_, i) => b.readFloatLE(4 * i));
    };
    qp.layers.forEach((l, i) => {
      const wdq = g.node!.find((n) => n.name === `layers.${i}.weight_dq`)!;
      expect(wdq.opType).toBe('DequantizeLinear');
      expect(num(wdq.attribute!.find((a) => a.name === 'axis')!.i)).toBe(0);
      const w = inits.get(wdq.input![0])!;
      expect(w.dataType).toBe(DataType.INT8);
      expect(w.dims!.map(num)).toEqual([l.outDim, l.inDim]);
      expect(Array.from(new Int8Array(Buffer.from(w.rawData!)))).toEqual(Array.from(l.weight));
      expect(floats(wdq.input![1])).toEqual(Array.from(l.weightScales));
      const bdq = g.node!.find((n) => n.name === `layers.${i}.bias_dq`)!;
      expect(inits.get(bdq.input![0])!.dataType).toBe(DataType.INT32);
      const inScale = floats(`layers.${i}.input_scale`)[0];
      floats(bdq.input![1]).forEach((s, c) => expect(s).toBe(f(f(inScale) * f(l.weightScales[c]))));
      // Activations are uint8: the int8 zero point + 128.
      const zp = inits.get(`layers.${i}.output_zero_point`)!;
      expect(zp.dataType).toBe(DataType.UINT8);
      expect(Buffer.from(zp.rawData!)[0]).toBe(l.output.zeroPoint + 128);
      const gemm = g.node!.find((n) => n.name === `layers.${i}.gemm`)!;
      expect(num(gemm.attribute!.find((a) => a.name === 'transB')!.i)).toBe(1);
    });
  });

  it("onnxruntime's optimized graph runs integer kernels (QGemm), no float Gemm / MatMul left", async () => {
    for (const c of [cases()[0], cases()[1]]) {
      const file = join(dir, `opt-${c.model.obsDim}.onnx`);
      await runOrt(quantizedToOnnx(c.qp), c.obs.subarray(0, c.model.obsDim), 1, c.model.obsDim, { optimizedModelFilePath: file });
      const ops = onnx.ModelProto.decode(readFileSync(file)).graph!.node!.map((n) => n.opType!);
      const integer = ops.filter((o) => ['QGemm', 'QLinearMatMul', 'MatMulInteger'].includes(o) || o.startsWith('QLinear'));
      expect(integer.length, `${c.name}: ${ops.join(',')}`).toBe(c.qp.layers.length);
      expect(ops.filter((o) => ['Gemm', 'MatMul', 'FusedGemm', 'FusedMatMul'].includes(o)), `${c.name}: ${ops.join(',')}`).toEqual([]);
    }
  });

  it('onnxruntime-node == forwardInt8 == LiteRT (int8 TFLite), bit for bit', async () => {
    for (const c of cases()) {
      const rows = c.obs.length / c.model.obsDim;
      const viaOrt = await runOrt(quantizedToOnnx(c.qp), c.obs, rows, c.model.obsDim);
      const viaLiteRt = await runTflite(writeTfliteQuantized(c.qp), c.obs, rows);
      const ref = forwardInt8(c.qp, c.obs, rows);
      if (c.model.head.kind === 'continuous' && c.model.head.squash === 'tanh') {
        // The int8 core is exact; the float tanh of the head is each runtime's own (MLAS and
        // XNNPACK approximate it), a few float32 ulps from Math.tanh (times the squash scale 2).
        expect(maxAbs(viaOrt, ref), c.name).toBeLessThanOrEqual(2e-6);
        expect(maxAbs(viaOrt, viaLiteRt), c.name).toBeLessThanOrEqual(2e-6);
      } else {
        expect(diffCount(viaOrt, ref), `${c.name}: ORT vs forwardInt8`).toBe(0);
        expect(diffCount(viaOrt, viaLiteRt), `${c.name}: ORT vs LiteRT`).toBe(0);
      }
    }
  });

  it('the CartPole student: int8 agreement with fp32 measured (int8 input resolution limits it)', async () => {
    const got = await runOrt(quantizedToOnnx(qp), golden, N, 4);
    const a = argmaxAgreement(got, forward(student, golden, N), 2);
    // Measured 0.970 on this fixture (see the report); the parity gate's 0.99 rejects it.
    expect(a).toBeGreaterThan(0.95);
    expect(a).toBeLessThan(1);
  });
});

describe('fp32 ONNX vs fp32 TFLite', () => {
  it('agree within 1e-5 on every case', async () => {
    for (const c of cases()) {
      const rows = c.obs.length / c.model.obsDim;
      const a = await runOrt(policyToOnnx(c.model), c.obs, rows, c.model.obsDim);
      const b = await runTflite(writeTflite(c.model, { variant: 'fp32' }), c.obs, rows);
      expect(maxAbs(a, b), c.name).toBeLessThanOrEqual(1e-5);
      expect(maxAbs(a, forward(c.model, c.obs, rows)), c.name).toBeLessThanOrEqual(1e-5);
    }
  });
});

describe('fp16 ONNX', () => {
  it('stores layer weights as float16 expanded by Cast; I/O stays float32', () => {
    const m = policyToFp16ModelProto(student);
    const g = m.graph!;
    const casts = g.node!.filter((n) => n.opType === 'Cast');
    expect(casts).toHaveLength(2 * student.layers.length);
    for (const c of casts) expect(num(c.attribute![0].i)).toBe(DataType.FLOAT);
    const halves = g.initializer!.filter((t) => t.dataType === DataType.FLOAT16);
    expect(halves.map((t) => t.name).sort()).toEqual(student.layers.flatMap((_, i) => [`layers.${i}.bias_fp16`, `layers.${i}.weight_fp16`]).sort());
    expect(g.input![0].type!.tensorType!.elemType).toBe(DataType.FLOAT);
    expect(g.output![0].type!.tensorType!.elemType).toBe(DataType.FLOAT);
    expect(policyToOnnxFp16(student).length).toBeLessThan(policyToOnnx(student).length);
  });

  it('computes the float16-weight model; agrees with fp32 and with the fp16 TFLite', async () => {
    for (const c of cases()) {
      const rows = c.obs.length / c.model.obsDim;
      const got = await runOrt(policyToOnnxFp16(c.model), c.obs, rows, c.model.obsDim);
      expect(maxAbs(got, forward(roundWeightsToFloat16(c.model), c.obs, rows)), c.name).toBeLessThanOrEqual(1e-5);
      const lite = await runTflite(writeTflite(c.model, { variant: 'fp16' }), c.obs, rows);
      expect(maxAbs(got, lite), c.name).toBeLessThanOrEqual(1e-5);
      if (c.model.head.kind === 'discrete' && c.name.startsWith('CartPole')) {
        expect(argmaxAgreement(got, forward(c.model, c.obs, rows), c.model.head.n)).toBeGreaterThanOrEqual(0.99);
      }
    }
  });
});
