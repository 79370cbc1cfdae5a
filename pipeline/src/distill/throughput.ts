/**
 * Trainer throughput: samples per second of distill's own training step (minibatch draw from the
 * replay buffer with normalization, forward, KL loss, backward, Adam) at a given batch, on
 * synthetic data. For `npm run bench`; timed unit tests are not the place for speed.
 */
import { Adam } from './adam.js';
import { klFromProbs, softmaxRows } from './losses.js';
import { MlpTrainer, type MlpTrainerOptions, type TrainActivation } from './mlp-train.js';
import { DistillBuffer } from './replay.js';
import { Rng } from './rng.js';

export interface ThroughputResult {
  sizes: number[];
  batch: number;
  steps: number;
  seconds: number;
  /** Samples per wall-clock second. */
  samplesPerSecond: number;
  /** Samples per second of this process's CPU time (what the trainer does with a core to itself). */
  samplesPerCpuSecond: number;
  backend: string;
}

export function measureTrainerThroughput(sizes: number[], batch: number, minSeconds = 1, seed = 0, opts: MlpTrainerOptions = {}): ThroughputResult {
  const rng = new Rng(seed);
  const acts: TrainActivation[] = sizes.slice(1).map((_, l) => (l === sizes.length - 2 ? 'none' : 'relu'));
  const net = new MlpTrainer({ sizes, activations: acts }, batch, rng, opts);
  const adam = new Adam(net.params.length, { lr: 1e-3 });
  const inDim = sizes[0];
  const outDim = sizes[sizes.length - 1];
  const rows = 16_384;
  const buffer = new DistillBuffer(rows, inDim, outDim, 1);
  const obs = Float32Array.from({ length: rows * inDim }, () => rng.uniform(-1, 1));
  const targets = Float32Array.from({ length: rows * outDim }, () => rng.uniform(-3, 3));
  softmaxRows(targets, rows, outDim, 1, targets);
  buffer.add(obs, targets, new Float32Array(rows), rows);
  const mean = new Float32Array(inDim);
  const std = new Float32Array(inDim).fill(1);
  const xb = new Float32Array(batch * inDim);
  const tb = new Float32Array(batch * outDim);
  const grad = new Float32Array(batch * outDim);
  const step = (): void => {
    buffer.sample(rng, batch, xb, tb, mean, std);
    const y = net.forward(xb, batch);
    klFromProbs(tb, y, batch, outDim, grad);
    net.backward(grad);
    adam.step(net.params, net.grads);
  };
  for (let i = 0; i < 50; i++) step(); // warm up the JIT
  let steps = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let el = 0;
  while (el < minSeconds * 1000) {
    for (let i = 0; i < 20; i++) step();
    steps += 20;
    el = performance.now() - t0;
  }
  const cpu = process.cpuUsage(c0);
  const seconds = el / 1000;
  return {
    sizes,
    batch,
    steps,
    seconds,
    samplesPerSecond: (steps * batch) / seconds,
    samplesPerCpuSecond: (steps * batch) / ((cpu.user + cpu.system) / 1e6),
    backend: net.backend,
  };
}
