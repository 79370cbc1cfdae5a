/**
 * Trainer throughput: samples per second of forward + KL loss + backward + Adam at a given batch,
 * on synthetic data (what `npm run bench` can call; timed unit tests are not the place for speed).
 */
import { Adam } from './adam.js';
import { klDistillLoss } from './losses.js';
import { MlpTrainer, type TrainActivation } from './mlp-train.js';
import { Rng } from './rng.js';

export interface ThroughputResult {
  sizes: number[];
  batch: number;
  steps: number;
  seconds: number;
  samplesPerSecond: number;
  backend: string;
}

export function measureTrainerThroughput(sizes: number[], batch: number, minSeconds = 1, seed = 0): ThroughputResult {
  const rng = new Rng(seed);
  const acts: TrainActivation[] = sizes.slice(1).map((_, l) => (l === sizes.length - 2 ? 'none' : 'relu'));
  const net = new MlpTrainer({ sizes, activations: acts }, batch, rng);
  const adam = new Adam(net.params.length, { lr: 1e-3 });
  const inDim = sizes[0];
  const outDim = sizes[sizes.length - 1];
  const nData = batch * 16;
  const x = new Float32Array(nData * inDim).map(() => rng.uniform(-1, 1));
  const t = new Float32Array(nData * outDim).map(() => rng.uniform(-1, 1));
  const xb = new Float32Array(batch * inDim);
  const tb = new Float32Array(batch * outDim);
  const grad = new Float32Array(batch * outDim);
  const step = (): void => {
    for (let b = 0; b < batch; b++) {
      const k = rng.int(nData);
      for (let i = 0; i < inDim; i++) xb[b * inDim + i] = x[k * inDim + i];
      for (let j = 0; j < outDim; j++) tb[b * outDim + j] = t[k * outDim + j];
    }
    const y = net.forward(xb, batch);
    klDistillLoss(tb, y, batch, outDim, 1, grad);
    net.backward(grad);
    adam.step(net.params, net.grads);
  };
  for (let i = 0; i < 50; i++) step(); // warm up the JIT
  let steps = 0;
  const t0 = performance.now();
  let el = 0;
  while (el < minSeconds * 1000) {
    for (let i = 0; i < 20; i++) step();
    steps += 20;
    el = performance.now() - t0;
  }
  const seconds = el / 1000;
  return { sizes, batch, steps, seconds, samplesPerSecond: (steps * batch) / seconds, backend: 'js-f32' };
}
