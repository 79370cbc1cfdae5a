import { makeEnv } from '@edgedistill/runtime/envs';
import { Rng } from './rng.js';
const env = makeEnv('MountainCarContinuous-v0');
const rng = new Rng(1);
let obs = env.reset({ seed: 1 }).obs;
let W = rng.normals(3);
let succ = 0, eps = 0, ret = 0; const rets: number[] = [];
for (let step = 1; step <= 10000; step++) {
  if (step % 64 === 0) W = rng.normals(3);
  const s0 = (2 * (obs[0] + 1.2)) / 1.8 - 1, s1 = (2 * (obs[1] + 0.07)) / 0.14 - 1;
  const a = Math.tanh(3 * (W[0] * s0 + W[1] * s1) + W[2]);
  const r = env.step(new Float32Array([a]));
  ret += r.reward;
  obs = r.obs;
  if (r.terminated || r.truncated) { eps++; if (r.terminated) succ++; rets.push(ret); ret = 0; obs = env.reset().obs; W = rng.normals(3); }
}
console.log({ eps, succ, rets: rets.map((x) => x.toFixed(0)).join(' ') });
