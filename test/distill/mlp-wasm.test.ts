import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Adam } from '../../pipeline/src/distill/adam.js';
import { compileKernelWat, WASM_PATH } from '../../pipeline/src/distill/kernels/build.js';
import { kernelModule, pad4 } from '../../pipeline/src/distill/kernels/mlp-wasm.js';
import { klFromProbs, softmaxRows } from '../../pipeline/src/distill/losses.js';
import { MlpTrainer, resolveTrainerBackend, type MlpTrainerOptions, type TrainActivation } from '../../pipeline/src/distill/mlp-train.js';
import { Rng } from '../../pipeline/src/distill/rng.js';

const f32 = (a: number[]) => Float32Array.from(a);
const JS: MlpTrainerOptions = { backend: 'js-f32' };
const WASM: MlpTrainerOptions = { backend: 'wasm-simd-f32' };

/** max |a - b| over max |b|: the error of a result relative to its scale (summation order differs). */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>, n = b.length): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < n; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return s === 0 ? d : d / s;
}

describe('wasm kernel binary', () => {
  it('the committed mlp.wasm is what wabt builds from mlp.wat', async () => {
    const built = await compileKernelWat();
    const committed = new Uint8Array(readFileSync(WASM_PATH));
    expect(built.length).toBe(committed.length);
    expect(Buffer.from(built).equals(Buffer.from(committed))).toBe(true);
  });

  it('loads on this engine (Node >= 20 has wasm SIMD), and an invalid module gives null', () => {
    expect(kernelModule()).not.toBeNull();
    expect(kernelModule(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0xff]))).toBeNull();
    expect(pad4(1)).toBe(4);
    expect(pad4(4)).toBe(4);
    expect(pad4(33)).toBe(36);
  });
});

describe('MlpTrainer on wasm-simd-f32', () => {
  it('is the default backend', () => {
    expect(new MlpTrainer({ sizes: [2, 3, 1], activations: ['relu', 'none'] }, 4, new Rng(0)).backend).toBe('wasm-simd-f32');
  });

  it('hand-computed forward and backward of a 3-2 relu layer (odd widths, batch 2)', () => {
    // W = [[1, 2, 3], [-1, 0, 1]], b = [0.5, -1]; x = [[1, 1, 1], [0, -1, 2]]
    // z = [[6.5, -1], [4.5, 1]] -> relu y = [[6.5, 0], [4.5, 1]]
    const net = new MlpTrainer({ sizes: [3, 2], activations: ['relu'] }, 2, [{ inDim: 3, outDim: 2, weight: f32([1, 2, 3, -1, 0, 1]), bias: f32([0.5, -1]), activation: 'relu' }], WASM);
    const y = net.forward(f32([1, 1, 1, 0, -1, 2]), 2);
    expect(Array.from(y.subarray(0, 4))).toEqual([6.5, 0, 4.5, 1]);
    // dL/dy = 1 everywhere; relu masks (0, 1): dz = [[1, 0], [1, 1]]
    // dW[0] = x0 + x1 = [1, 0, 3]; dW[1] = x1 = [0, -1, 2]; db = [2, 1]
    // dx0 = 1 * W[0] = [1, 2, 3]; dx1 = W[0] + W[1] = [0, 2, 4]
    const dx = new Float32Array(6);
    net.backward(f32([1, 1, 1, 1]), dx);
    expect(Array.from(net.grads)).toEqual([1, 0, 3, 0, -1, 2, 2, 1]);
    expect(Array.from(dx)).toEqual([1, 2, 3, 0, 2, 4]);
  });

  it('params and grads are live views: writes to params change the next forward', () => {
    const net = new MlpTrainer({ sizes: [1, 1], activations: ['none'] }, 1, [{ inDim: 1, outDim: 1, weight: f32([2]), bias: f32([1]), activation: 'none' }], WASM);
    expect(net.forward(f32([3]), 1)[0]).toBe(7);
    net.params[0] = -1; // w
    net.b[0][0] = 0.5; // b, through the per-layer view
    expect(net.forward(f32([3]), 1)[0]).toBe(-2.5);
    net.backward(f32([2]));
    expect(Array.from(net.dw[0])).toEqual([6]);
    expect(Array.from(net.db[0])).toEqual([2]);
    expect(net.toLayers()[0].weight[0]).toBe(-1);
  });

  // Widths 3, 5, 33 and batches 1, 7 exercise every tile remainder (4-column tails, single rows).
  const shapes: [number[], TrainActivation[], number][] = [
    [[4, 32, 32, 2], ['relu', 'relu', 'none'], 256],
    [[3, 5, 33, 2], ['relu', 'tanh', 'none'], 7],
    [[33, 5, 3], ['tanh', 'none'], 1],
    [[5, 33, 33, 1], ['relu', 'relu', 'none'], 9],
    [[1, 3, 7], ['relu', 'none'], 13],
    [[8, 16, 4], ['none', 'relu'], 4],
  ];
  for (const [sizes, acts, batch] of shapes) {
    it(`matches the JS reference: ${sizes.join('-')} (${acts.join(',')}), batch ${batch}`, () => {
      const init = new MlpTrainer({ sizes, activations: acts }, batch, new Rng(sizes.length + batch), JS).toLayers();
      const ref = new MlpTrainer({ sizes, activations: acts }, batch, init, JS);
      const net = new MlpTrainer({ sizes, activations: acts }, batch, init, WASM);
      expect(Array.from(net.params)).toEqual(Array.from(ref.params));
      const rng = new Rng(batch);
      const outDim = sizes[sizes.length - 1];
      const x = Float32Array.from({ length: batch * sizes[0] }, () => rng.uniform(-2, 2));
      const g = Float32Array.from({ length: batch * outDim }, () => rng.uniform(-1, 1));
      const yRef = ref.forward(x, batch).slice(0, batch * outDim);
      const y = net.forward(x, batch).slice(0, batch * outDim);
      expect(relErr(y, yRef)).toBeLessThan(1e-5);
      const dxRef = new Float32Array(batch * sizes[0]);
      const dx = new Float32Array(batch * sizes[0]);
      ref.backward(g, dxRef);
      net.backward(g, dx);
      expect(relErr(dx, dxRef)).toBeLessThan(1e-5);
      for (let l = 0; l < sizes.length - 1; l++) {
        expect(relErr(net.dw[l], ref.dw[l]), `dw[${l}]`).toBeLessThan(1e-5);
        expect(relErr(net.db[l], ref.db[l]), `db[${l}]`).toBeLessThan(1e-5);
      }
      // Without dInput the first layer's input gradient is skipped; the weight gradients are the same.
      net.forward(x, batch);
      const before = net.grads.slice();
      net.backward(g);
      expect(Array.from(net.grads)).toEqual(Array.from(before));
    });
  }

  it('predict over several maxBatch chunks (last one partial) matches the JS reference', () => {
    const sizes = [5, 33, 3];
    const acts: TrainActivation[] = ['relu', 'none'];
    const init = new MlpTrainer({ sizes, activations: acts }, 8, new Rng(4), JS).toLayers();
    const rng = new Rng(9);
    const n = 29;
    const x = Float32Array.from({ length: n * 5 }, () => rng.uniform(-1, 1));
    const yRef = new MlpTrainer({ sizes, activations: acts }, 8, init, JS).predict(x, n, new Float32Array(n * 3));
    const net = new MlpTrainer({ sizes, activations: acts }, 8, init, WASM);
    const y = net.predict(x, n, new Float32Array(n * 3));
    expect(relErr(y, yRef)).toBeLessThan(1e-6);
    expect(() => net.backward(new Float32Array(8 * 3))).toThrow(/before forward/);
  });

  it('matches finite differences on odd widths (gradients of a float64 loss through the wasm forward)', () => {
    for (const [sizes, acts, batch] of [
      [[3, 5, 33, 2], ['tanh', 'tanh', 'none'], 7],
      [[5, 7, 3], ['relu', 'none'], 1],
    ] as [number[], TrainActivation[], number][]) {
      const rng = new Rng(11);
      const net = new MlpTrainer({ sizes, activations: acts }, batch, rng, WASM);
      const outDim = sizes[sizes.length - 1];
      const x = Float32Array.from({ length: batch * sizes[0] }, () => rng.uniform(-1, 1));
      const t = Float32Array.from({ length: batch * outDim }, () => rng.uniform(-1, 1));
      // Loss = 0.5 sum (y - t)^2 in float64; gradient dL/dy = y - t.
      const lossAt = (): number => {
        const y = net.forward(x, batch);
        let s = 0;
        for (let k = 0; k < batch * outDim; k++) s += 0.5 * (y[k] - t[k]) ** 2;
        return s;
      };
      const y = net.forward(x, batch);
      const g = Float32Array.from({ length: batch * outDim }, (_, k) => y[k] - t[k]);
      const dx = new Float32Array(batch * sizes[0]);
      net.backward(g, dx);
      const analytic = net.grads.slice();
      const h = 1e-2;
      for (let k = 0; k < net.params.length; k++) {
        const p0 = net.params[k];
        net.params[k] = p0 + h;
        const lp = lossAt();
        net.params[k] = p0 - h;
        const lm = lossAt();
        net.params[k] = p0;
        const numeric = (lp - lm) / (2 * h);
        expect(Math.abs(numeric - analytic[k]), `${sizes} param ${k}: numeric ${numeric}, analytic ${analytic[k]}`).toBeLessThan(2e-3 + 2e-2 * Math.abs(numeric));
      }
      for (let k = 0; k < x.length; k++) {
        const x0 = x[k];
        x[k] = x0 + h;
        const lp = lossAt();
        x[k] = x0 - h;
        const lm = lossAt();
        x[k] = x0;
        const numeric = (lp - lm) / (2 * h);
        expect(Math.abs(numeric - dx[k]), `${sizes} input ${k}`).toBeLessThan(2e-3 + 2e-2 * Math.abs(numeric));
      }
    }
  });
});

/** KL distillation steps with Adam on a fixed stream; returns the final parameters. */
function train(opts: MlpTrainerOptions, steps: number): Float32Array {
  const sizes = [3, 33, 5, 2];
  const net = new MlpTrainer({ sizes, activations: ['relu', 'relu', 'none'] }, 32, new Rng(5), opts);
  const adam = new Adam(net.params.length, { lr: 1e-2 });
  const rng = new Rng(6);
  const x = new Float32Array(32 * 3);
  const t = new Float32Array(32 * 2);
  const g = new Float32Array(32 * 2);
  for (let s = 0; s < steps; s++) {
    for (let k = 0; k < x.length; k++) x[k] = rng.uniform(-1, 1);
    for (let b = 0; b < 32; b++) {
      t[2 * b] = 0;
      t[2 * b + 1] = 3 * (x[3 * b] - x[3 * b + 2]);
    }
    softmaxRows(t, 32, 2, 1, t);
    klFromProbs(t, net.forward(x, 32), 32, 2, g);
    net.backward(g);
    adam.step(net.params, net.grads);
  }
  return net.params.slice();
}

describe('training on wasm-simd-f32', () => {
  it('is deterministic for a seed, and follows the JS path closely', () => {
    const a = train(WASM, 200);
    const b = train(WASM, 200);
    expect(Array.from(a)).toEqual(Array.from(b));
    const ref = train(JS, 200);
    expect(relErr(a, ref)).toBeLessThan(1e-3); // 200 Adam steps amplify float rounding a little
    expect(Array.from(a)).not.toEqual(Array.from(train(WASM, 199)));
  });
});

describe('fallback to js-f32', () => {
  const saved = process.env.EDGEDISTILL_TRAINER;
  afterEach(() => {
    if (saved === undefined) delete process.env.EDGEDISTILL_TRAINER;
    else process.env.EDGEDISTILL_TRAINER = saved;
  });

  it('an engine without wasm SIMD gets the JS trainer, which trains the same way', () => {
    const net = new MlpTrainer({ sizes: [2, 3, 1], activations: ['relu', 'none'] }, 4, new Rng(0), { wasmSimd: false });
    expect(net.backend).toBe('js-f32');
    expect(resolveTrainerBackend({ wasmSimd: false })).toBe('js-f32');
    expect(() => new MlpTrainer({ sizes: [2, 1], activations: ['none'] }, 1, new Rng(0), { backend: 'wasm-simd-f32', wasmSimd: false })).toThrow(/not available/);
    const fallback = train({ wasmSimd: false }, 50);
    expect(Array.from(fallback)).toEqual(Array.from(train(JS, 50)));
  });

  it('EDGEDISTILL_TRAINER picks the backend of auto trainers; a bad value is refused', () => {
    process.env.EDGEDISTILL_TRAINER = 'js-f32';
    expect(resolveTrainerBackend()).toBe('js-f32');
    expect(resolveTrainerBackend(WASM)).toBe('wasm-simd-f32'); // an explicit choice wins
    process.env.EDGEDISTILL_TRAINER = 'gpu';
    expect(() => resolveTrainerBackend()).toThrow(/EDGEDISTILL_TRAINER=gpu/);
    delete process.env.EDGEDISTILL_TRAINER;
    expect(resolveTrainerBackend()).toBe('wasm-simd-f32');
  });
});
