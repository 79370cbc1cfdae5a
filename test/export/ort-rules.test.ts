/**
 * What onnxruntime-node's int8 kernels compute, measured on hand-made graphs: QuantizeLinear
 * divides (x / scale), unlike XNNPACK's x * float32(1 / scale), which is why the int8 exporter
 * multiplies by the reciprocal itself and quantizes with scale 1; QGemm requantizes like XNNPACK:
 * float32 multiplier float32(float32(a_s * b_s) / y_s), float32 product, round half to even.
 */
import { describe, expect, it } from 'vitest';
import { onnx } from '../../pipeline/src/onnx/proto.js';
import { floatTensor, int32Tensor, int8Tensor, intAttr, node, uint8Tensor } from '../../pipeline/src/export/onnx-tensors.js';
import { roundHalfEven } from '../../pipeline/src/quant/ops/round-half-even.js';
import { seededRandom } from '../../pipeline/src/ir/build.js';
import { runOrt, tmp } from './helpers.js';
import { mlp } from '../../pipeline/src/ir/build.js';
import { quantizedToOnnx } from '../../pipeline/src/export/onnx-int8.js';
import { writeTfliteQuantized } from '../../pipeline/src/export/tflite/index.js';
import { openTfliteModel } from '../../runtime/src/backends/litert/index.js';
import { forwardInt8, type QuantizedPolicy } from '../../pipeline/src/quant/index.js';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const f = Math.fround;
const io = (elemType: number, d: number) => ({ tensorType: { elemType, shape: { dim: [{ dimParam: 'batch' }, { dimValue: d }] } } });

function model(nodes: ReturnType<typeof node>[], inits: ReturnType<typeof floatTensor>[], inDim: number, outType: number, outDim: number): Uint8Array {
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 7,
      opsetImport: [{ domain: '', version: 13 }],
      graph: { name: 'probe', node: nodes, initializer: inits, input: [{ name: 'obs', type: io(1, inDim) }], output: [{ name: 'y', type: io(outType, outDim) }] },
    }),
  ).finish();
}

describe('onnxruntime-node int8 rules', () => {
  it('QuantizeLinear computes round_half_even(x / scale): it divides', async () => {
    // Inputs next to ties where x / s and x * float32(1 / s) round to different integers.
    const rnd = seededRandom(1);
    const xs: number[] = [];
    const ss: number[] = [];
    while (xs.length < 64) {
      const s = f(0.001 + rnd() * 0.2);
      const x = f((Math.floor(rnd() * 200) - 100 + 0.5) * s * (1 + (rnd() - 0.5) * 1e-6));
      if (roundHalfEven(f(x / s)) !== roundHalfEven(f(x * f(1 / s)))) {
        xs.push(x);
        ss.push(s);
      }
    }
    let divide = 0;
    let reciprocal = 0;
    for (let i = 0; i < xs.length; i++) {
      const bytes = model([node('QuantizeLinear', 'q', ['obs', 's', 'zp'], ['q']), node('DequantizeLinear', 'dq', ['q', 'one', 'zp'], ['y'])], [floatTensor('s', [], [ss[i]]), floatTensor('one', [], [1]), uint8Tensor('zp', [], [128])], 1, 1, 1);
      const [q] = await runOrt(bytes, new Float32Array([xs[i]]), 1, 1);
      if (q === roundHalfEven(f(xs[i] / ss[i]))) divide++;
      if (q === roundHalfEven(f(xs[i] * f(1 / ss[i])))) reciprocal++;
    }
    expect({ divide, reciprocal }).toEqual({ divide: 64, reciprocal: 0 });
  });

  it('QGemm: float32 multiplier and product, round half to even (not double, not half away)', async () => {
    const K = 48;
    const rnd = seededRandom(2);
    const outS = f(0.37);
    const w = new Int8Array(K);
    const ws = new Float32Array(K);
    const bias = new Int32Array(K);
    // 8 channels with multiplier exactly 0.5 (odd accumulators are ties) ...
    for (let c = 0; c < 8; c++) {
      w[c] = Math.floor(rnd() * 255) - 127 || 1;
      ws[c] = f(outS / 2);
      bias[c] = Math.floor(rnd() * 200) - 100;
    }
    // ... and channels whose float32 multiplier rounds some accumulator differently from the double one.
    for (let c = 8; c < K; ) {
      const wc = Math.floor(rnd() * 255) - 127 || 1;
      const wsc = f(0.001 + rnd() * 0.02);
      const bc = Math.floor(rnd() * 2000) - 1000;
      const m32 = f(wsc / outS);
      let differs = false;
      for (let x = -128; x < 128; x++) {
        const a = x * wc + bc;
        const r32 = roundHalfEven(f(f(a) * m32));
        if (r32 !== roundHalfEven(a * (wsc / outS)) && Math.abs(r32) < 120) differs = true;
      }
      if (differs) {
        w[c] = wc;
        ws[c] = wsc;
        bias[c] = bc;
        c++;
      }
    }
    const dir = tmp();
    const opt = join(dir, 'qgemm.onnx');
    const bytes = model(
      [
        node('QuantizeLinear', 'qx', ['obs', 'one', 'zp'], ['xq']),
        node('DequantizeLinear', 'dqx', ['xq', 'one', 'zp'], ['xf']),
        node('DequantizeLinear', 'dqw', ['wq', 'ws', 'wzp'], ['wf'], [intAttr('axis', 0)]),
        node('DequantizeLinear', 'dqb', ['bq', 'bs'], ['bf'], [intAttr('axis', 0)]),
        node('Gemm', 'gemm', ['xf', 'wf', 'bf'], ['yf'], [intAttr('transB', 1)]),
        node('QuantizeLinear', 'qy', ['yf', 'ys', 'zp'], ['yq']),
        node('DequantizeLinear', 'dqy', ['yq', 'ys', 'zp'], ['y']),
      ],
      [
        floatTensor('one', [], [1]),
        uint8Tensor('zp', [], [128]),
        int8Tensor('wq', [K, 1], w),
        floatTensor('ws', [K], ws),
        int8Tensor('wzp', [K], new Int8Array(K)),
        int32Tensor('bq', [K], bias),
        floatTensor('bs', [K], ws),
        floatTensor('ys', [], [outS]),
      ],
      1,
      1,
      K,
    );
    const xs = new Float32Array(256).map((_, i) => i - 128);
    const out = await runOrt(bytes, xs, 256, 1, { optimizedModelFilePath: opt });
    expect(onnx.ModelProto.decode(readFileSync(opt)).graph!.node!.map((n) => n.opType)).toContain('QGemm');
    rmSync(dir, { recursive: true, force: true });
    const away = (v: number) => (v < 0 ? -Math.round(-v) : Math.round(v));
    const rules: Record<string, (acc: number, c: number) => number> = {
      float32: (a, c) => roundHalfEven(f(f(a) * f(ws[c] / outS))),
      double: (a, c) => roundHalfEven(a * (ws[c] / outS)),
      halfAway: (a, c) => away(f(f(a) * f(ws[c] / outS))),
    };
    const misses: Record<string, number> = {};
    for (const [name, rule] of Object.entries(rules)) {
      misses[name] = 0;
      for (let i = 0; i < 256; i++) {
        for (let c = 0; c < K; c++) {
          const q = Math.max(-128, Math.min(127, rule(xs[i] * w[c] + bias[c], c)));
          if (f(q * outS) !== out[i * K + c]) misses[name]++;
        }
      }
    }
    expect(misses.float32).toBe(0);
    expect(misses.double).toBeGreaterThan(0);
    expect(misses.halfAway).toBeGreaterThan(0);
  });

  it("so the exporter quantizes by the float32 reciprocal: it matches LiteRT where the textbook QDQ graph does not", async () => {
    // One 1 -> 1 layer with weight 1 and multiplier 1: the output is the input's int8 code x 0.3.
    const s = f(0.3);
    const qp: QuantizedPolicy = {
      model: mlp({ obsDim: 1, hidden: [], head: { kind: 'discrete', n: 1 }, init: { seed: 1 } }),
      input: { scale: s, zeroPoint: 0 },
      calibrationSamples: 0,
      layers: [
        {
          inDim: 1, outDim: 1, activation: 'none',
          weight: new Int8Array([1]), weightScales: new Float32Array([1]),
          bias: new Int32Array([0]), biasScales: new Float32Array([s]),
          input: { scale: s, zeroPoint: 0 }, output: { scale: s, zeroPoint: 0 }, activationOutput: null,
        },
      ],
    };
    // float32(x / s) = 2.5 -> 2, float32(x * float32(1 / s)) = 2.5000002 -> 3.
    const x = new Float32Array([0.7500000596046448]);
    const lite = await openTfliteModel(writeTfliteQuantized(qp), { selfTest: false });
    try {
      const viaLiteRt = await lite.run(x, 1);
      expect(viaLiteRt[0]).toBe(f(3 * s));
      expect((await runOrt(quantizedToOnnx(qp), x, 1, 1))[0]).toBe(viaLiteRt[0]);
      expect(forwardInt8(qp, x, 1)[0]).toBe(viaLiteRt[0]);
      expect((await runOrt(quantizedToOnnx(qp, { inputQuantize: 'divide' }), x, 1, 1))[0]).toBe(f(2 * s));
    } finally {
      lite.dispose();
    }
  });
});
