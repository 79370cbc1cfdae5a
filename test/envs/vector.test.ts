import { describe, expect, it } from 'vitest';
import { makeEnv, makeVectorEnv, NumpyGenerator, type Env } from '@edgedistill/runtime/envs';
import { ENV_IDS } from './helpers.js';

describe('vector env equals N single envs', () => {
  it.each(ENV_IDS)('%s: obs, rewards, flags, final obs and auto-resets match step by step', (id) => {
    const n = 5;
    const seed = 11;
    // Short time limit so truncation auto-resets happen too.
    const options = { maxEpisodeSteps: id === 'CartPole-v1' ? 500 : 37 };
    const vec = makeVectorEnv(id, n, options);
    const singles: Env[] = Array.from({ length: n }, () => makeEnv(id, options));
    const v0 = vec.reset({ seed });
    const d = vec.obsDim;
    singles.forEach((env, i) => expect(v0.obs.subarray(i * d, (i + 1) * d)).toEqual(env.reset({ seed: seed + i }).obs));
    const rng = new NumpyGenerator(99);
    const space = vec.singleActionSpace;
    const actions = space.kind === 'discrete' ? new Int32Array(n) : new Float32Array(n);
    let ends = 0;
    for (let t = 0; t < 300; t++) {
      for (let i = 0; i < n; i++) {
        // Continuous actions span twice the range: clipping must agree too.
        actions[i] = space.kind === 'discrete' ? Math.floor(rng.random() * space.n) : rng.uniform(2 * space.low[0], 2 * space.high[0]);
      }
      const r = vec.step(actions);
      singles.forEach((env, i) => {
        const s = env.step(space.kind === 'discrete' ? actions[i] : (actions.subarray(i, i + 1) as Float32Array));
        expect(r.rewards[i]).toBe(s.reward);
        expect(r.terminated[i]).toBe(s.terminated ? 1 : 0);
        expect(r.truncated[i]).toBe(s.truncated ? 1 : 0);
        if (s.terminated || s.truncated) {
          ends++;
          expect(r.finalObs.subarray(i * d, (i + 1) * d)).toEqual(s.obs);
          expect(vec.elapsedSteps[i]).toBe(0);
          const next = env.reset(); // the single env continues its own generator, as the copy does
          expect(r.obs.subarray(i * d, (i + 1) * d)).toEqual(next.obs);
        } else {
          expect(r.obs.subarray(i * d, (i + 1) * d)).toEqual(s.obs);
        }
        expect([...vec.getState(i)]).toEqual([...env.getState()]);
      });
    }
    expect(ends).toBeGreaterThan(n);
  });

  it('step returns the same preallocated arrays every time', () => {
    const vec = makeVectorEnv('CartPole-v1', 4);
    vec.reset({ seed: 0 });
    const a = vec.step(new Int32Array(4));
    const b = vec.step(new Int32Array([1, 1, 1, 1]));
    expect(b.obs).toBe(a.obs);
    expect(b.rewards).toBe(a.rewards);
    expect(a.obs).toBeInstanceOf(Float32Array);
    expect(a.rewards).toBeInstanceOf(Float64Array);
    expect(a.terminated).toBeInstanceOf(Uint8Array);
    expect(a.obs.length).toBe(16);
  });

  it('setState on one copy restarts its episode from that state', () => {
    const vec = makeVectorEnv('MountainCar-v0', 2);
    vec.reset({ seed: 0 });
    vec.setState(1, [-0.5, 0.01]);
    expect([...vec.getState(1)]).toEqual([-0.5, 0.01]);
    expect(vec.elapsedSteps[1]).toBe(0);
    const single = makeEnv('MountainCar-v0');
    single.setState([-0.5, 0.01]);
    const r = vec.step(new Int32Array([2, 2]));
    expect(r.obs.subarray(2, 4)).toEqual(single.step(2).obs);
  });
});
