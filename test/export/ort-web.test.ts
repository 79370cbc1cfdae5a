/**
 * onnxruntime-web (WebAssembly, one thread, run inside Node) loads the int8 and fp32 ONNX
 * artifacts and agrees: int8 bit for bit with forwardInt8 / onnxruntime-node, fp32 within 1e-5.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { forward } from '../../pipeline/src/ir/forward.js';
import type { PolicyModel } from '../../pipeline/src/ir/types.js';
import { policyToOnnx } from '../../pipeline/src/onnx/write.js';
import { forwardInt8, quantizePolicy, type QuantizedPolicy } from '../../pipeline/src/quant/index.js';
import { quantizePolicyCalibrated } from '../../pipeline/src/quant/calibrate-percentile.js';
import { quantizedToOnnx } from '../../pipeline/src/export/onnx-int8.js';
import { cartpoleGolden, cartpoleStudent, diffCount, maxAbs, runOrt, shapes } from './helpers.js';

type OrtWeb = typeof import('onnxruntime-web');
let ortWeb: OrtWeb;
let student: PolicyModel;
let golden: Float32Array;
let qp: QuantizedPolicy;
const N = 1000;

beforeAll(async () => {
  ortWeb = (await import('onnxruntime-web')) as OrtWeb;
  const dist = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
  ortWeb.env.wasm.wasmPaths = pathToFileURL(`${dist}/`).href;
  ortWeb.env.wasm.numThreads = 1;
  ortWeb.env.wasm.proxy = false;
  student = await cartpoleStudent();
  golden = await cartpoleGolden(N, 0);
  qp = quantizePolicy(student, await cartpoleGolden(1000, 1000));
});

async function runWeb(bytes: Uint8Array, obs: Float32Array, rows: number, d: number): Promise<Float32Array> {
  const s = await ortWeb.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  try {
    const out = await s.run({ obs: new ortWeb.Tensor('float32', obs, [rows, d]) });
    return (out[s.outputNames[0]].data as Float32Array).slice();
  } finally {
    await s.release();
  }
}

describe('onnxruntime-web (wasm, 1 thread)', () => {
  it('int8 ONNX: bit for bit forwardInt8 and onnxruntime-node (discrete heads)', async () => {
    const cases = [
      { model: student, qp, obs: golden },
      // A 12-bit quantized observation (Round / Clip and a float Gemm over integers for the first layer).
      { model: student, qp: quantizePolicyCalibrated(student, await cartpoleGolden(1000, 1000), { inputBits: 12 }), obs: golden },
      ...shapes()
        .filter((s) => s.model.head.kind === 'discrete')
        .map((s) => ({ model: s.model, qp: quantizePolicy(s.model, s.obs(500, 1)), obs: s.obs(N, 2) })),
    ];
    for (const c of cases) {
      const d = c.model.obsDim;
      const rows = c.obs.length / d;
      const bytes = quantizedToOnnx(c.qp);
      const web = await runWeb(bytes, c.obs, rows, d);
      expect(diffCount(web, forwardInt8(c.qp, c.obs, rows))).toBe(0);
      expect(diffCount(web, await runOrt(bytes, c.obs, rows, d))).toBe(0);
    }
  });

  it('fp32 ONNX: within 1e-5 of the IR and of onnxruntime-node', async () => {
    const bytes = policyToOnnx(student);
    const web = await runWeb(bytes, golden, N, 4);
    expect(maxAbs(web, forward(student, golden, N))).toBeLessThanOrEqual(1e-5);
    expect(maxAbs(web, await runOrt(bytes, golden, N, 4))).toBeLessThanOrEqual(1e-5);
  });
});
