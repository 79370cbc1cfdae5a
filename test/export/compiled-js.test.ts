/**
 * Compiled JS modules, imported from disk: fp32 bit-identical to the IR, int8 bit-identical to the
 * int8 ONNX in onnxruntime (and to forwardInt8), the runtime's contract and loader, and size.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkStandaloneSource, loadPolicy } from '@edgedistill/runtime';
import { argmaxRow, forward } from '../../pipeline/src/ir/forward.js';
import { mlp } from '../../pipeline/src/ir/build.js';
import type { PolicyModel } from '../../pipeline/src/ir/types.js';
import { forwardInt8, quantizePolicy, type QuantizedPolicy } from '../../pipeline/src/quant/index.js';
import { quantizedToOnnx } from '../../pipeline/src/export/onnx-int8.js';
import { DECODERS, base64Float32 } from '../../pipeline/src/export/js/literal.js';
import { emitFp32Module, emitInt8Module, importModuleFile } from '../../pipeline/src/export/js/index.js';
import { cartpoleGolden, cartpoleStudent, diffCount, maxAbs, randomObs, runOrt, shapes, tmp } from './helpers.js';

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

let serial = 0;
async function load(source: string) {
  const file = join(dir, `m${serial++}.mjs`);
  writeFileSync(file, source);
  return { file, mod: await importModuleFile(file) };
}

function runRows(mod: { forward(o: ArrayLike<number>): Float32Array }, obs: Float32Array, d: number): Float32Array {
  const rows = obs.length / d;
  const first = mod.forward(obs.subarray(0, d));
  const out = new Float32Array(rows * first.length);
  for (let r = 0; r < rows; r++) out.set(mod.forward(obs.subarray(r * d, (r + 1) * d)), r * first.length);
  return out;
}

function cases() {
  return [
    { name: 'CartPole student', model: student, qp, obs: golden },
    ...shapes().map((s) => ({ name: s.name, model: s.model, qp: quantizePolicy(s.model, s.obs(500, 1)), obs: s.obs(N, 2) })),
  ];
}

describe('fp32 module', () => {
  it('is bit-identical to the IR forward pass, and act() decodes forward()', async () => {
    for (const c of cases()) {
      const { mod } = await load(emitFp32Module(c.model));
      const d = c.model.obsDim;
      const got = runRows(mod, c.obs, d);
      expect(diffCount(got, forward(c.model, c.obs, c.obs.length / d)), c.name).toBe(0);
      const h = c.model.head;
      for (let r = 0; r < 50; r++) {
        const x = c.obs.subarray(r * d, (r + 1) * d);
        const a = mod.act(x);
        if (h.kind === 'discrete') expect(a).toBe(argmaxRow(mod.forward(x), h.n));
        else expect(Array.from(a as Float32Array)).toEqual(Array.from(mod.forward(x)));
      }
    }
  });
});

describe('int8 module', () => {
  it('is bit-identical to the int8 ONNX in onnxruntime and to forwardInt8 (within float tanh ulps for a tanh-squashed head)', async () => {
    for (const c of cases()) {
      const d = c.model.obsDim;
      const rows = c.obs.length / d;
      const { mod } = await load(emitInt8Module(c.qp));
      const got = runRows(mod, c.obs, d);
      const onnxOut = await runOrt(quantizedToOnnx(c.qp), c.obs, rows, d);
      expect(diffCount(got, forwardInt8(c.qp, c.obs, rows)), `${c.name} vs forwardInt8`).toBe(0);
      const h = c.model.head;
      if (h.kind === 'continuous' && h.squash === 'tanh') {
        // onnxruntime's float tanh (MLAS) in the head is a few ulps from Math.tanh; the int8 core is
        // exact: far below one output quantization step.
        const last = c.qp.layers[c.qp.layers.length - 1].output.scale;
        expect(maxAbs(got, onnxOut), c.name).toBeLessThanOrEqual(Math.min(2e-6, last));
      } else {
        expect(diffCount(got, onnxOut), `${c.name} vs ONNX`).toBe(0);
      }
      if (h.kind === 'discrete') {
        // The same action as the int8 ONNX on every golden observation.
        for (let r = 0; r < rows; r++) expect(mod.act(c.obs.subarray(r * d, (r + 1) * d))).toBe(argmaxRow(onnxOut, h.n, r));
      }
    }
  });

  it('CartPole 4-32-32-2 int8 modules are under 8 KB (the distilled student, and a tanh one with tables)', () => {
    const relu = emitInt8Module(qp);
    expect(Buffer.byteLength(relu)).toBeLessThan(8 * 1024);
    const tanhStudent = mlp({
      obsDim: 4,
      hidden: [32, 32],
      activation: 'tanh',
      head: { kind: 'discrete', n: 2 },
      obsNorm: { mean: student.obsNorm!.mean, std: student.obsNorm!.std, clip: null },
      envId: 'CartPole-v1',
      card: student.card,
      init: { seed: 5 },
    });
    const tanh = emitInt8Module(quantizePolicy(tanhStudent, golden));
    expect(Buffer.byteLength(tanh)).toBeLessThan(8 * 1024);
    expect(Buffer.byteLength(tanh)).toBeGreaterThan(Buffer.byteLength(relu)); // two 256-entry tables
  });
});

describe('module contract', () => {
  it('standalone (no imports), metadata per compiled-module.ts, loads in the runtime js backend', async () => {
    const source = emitInt8Module(qp);
    checkStandaloneSource(source);
    expect(source).not.toMatch(/\bimport\b|\brequire\b|\batob\b/);
    const { file, mod } = await load(source);
    expect(mod.metadata).toMatchObject({ format: 'edgedistill.compiled/1', variant: 'int8', envId: 'CartPole-v1', obsDim: 4, outDim: 2, outputName: 'logits' });
    expect(mod.metadata.actionSpace).toEqual({ kind: 'discrete', n: 2, start: 0 });
    expect(mod.metadata.card).toEqual(student.card);
    const policy = await loadPolicy(file, { backend: 'js' });
    try {
      for (let r = 0; r < 20; r++) {
        const x = golden.subarray(r * 4, r * 4 + 4);
        expect(policy.actSync(x)).toBe(mod.act(x));
      }
    } finally {
      await policy.dispose?.();
    }
  });

  it('forward returns a new array per call; forwardInto fills the caller buffer and returns it', async () => {
    const { mod } = await load(emitFp32Module(student));
    const x = golden.subarray(0, 4);
    const a = mod.forward(x);
    const b = mod.forward(x);
    expect(a).not.toBe(b);
    expect(Array.from(a)).toEqual(Array.from(b));
    const out = new Float32Array(2);
    const m = mod as unknown as { forwardInto(o: ArrayLike<number>, out: Float32Array): Float32Array };
    expect(m.forwardInto(x, out)).toBe(out);
    expect(Array.from(out)).toEqual(Array.from(a));
    // Plain arrays of doubles are accepted (rounded to float32 as any float32 runtime would).
    expect(Array.from(mod.forward(Array.from(x)))).toEqual(Array.from(a));
  });

  it("the modules' base64 decoder matches Buffer for every padding", () => {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const F32 = new Function(`${DECODERS}\nreturn F32;`)() as (s: string) => Float64Array;
    const B = new Function(`${DECODERS}\nreturn B;`)() as (s: string) => Uint8Array;
    for (let n = 0; n < 12; n++) {
      const bytes = Buffer.from(randomObs(1, n, n + 1, 0, 256).map(Math.floor));
      expect(Array.from(B(bytes.toString('base64')))).toEqual(Array.from(bytes));
    }
    const v = randomObs(1, 7, 3);
    expect(Array.from(F32(base64Float32(v)))).toEqual(Array.from(v));
  });
});
