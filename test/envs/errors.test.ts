import { describe, expect, it } from 'vitest';
import { makeEnv, makeVectorEnv } from '@edgedistill/runtime/envs';
import { EdgeDistillError } from '@edgedistill/runtime/errors';

function thrown(fn: () => unknown): EdgeDistillError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(EdgeDistillError);
    return e as EdgeDistillError;
  }
  throw new Error('expected an EdgeDistillError, nothing was thrown');
}

describe('bad input gets typed errors', () => {
  it('unknown env id: UNKNOWN_ENV listing the known ids, with a did-you-mean', () => {
    const e = thrown(() => makeEnv('CartPole-v0'));
    expect(e.code).toBe('UNKNOWN_ENV');
    expect(e.message).toContain('did you mean "CartPole-v1"');
    expect(e.suggestion).toContain('Pendulum-v1');
    expect(thrown(() => makeEnv('pendulum')).message).toContain('"Pendulum-v1"');
    expect(thrown(() => makeEnv('MountainCarContinous-v0')).message).toContain('"MountainCarContinuous-v0"');
    const far = thrown(() => makeEnv('HalfCheetah-v5'));
    expect(far.message).not.toContain('did you mean');
    expect(far.suggestion).toContain('CartPole-v1');
    expect(thrown(() => makeVectorEnv('Acrobot-v2', 4)).code).toBe('UNKNOWN_ENV');
  });

  it('unknown or bad options: BAD_ARGUMENT naming the key and listing the allowed ones', () => {
    const e = thrown(() => makeEnv('CartPole-v1', { mass_pole: 0.2 }));
    expect(e.code).toBe('BAD_ARGUMENT');
    expect(e.field).toBe('options.mass_pole');
    expect(e.message).toContain('mass_pole');
    expect(e.message).toContain('did you mean "masspole"');
    expect(e.suggestion).toContain('masspole');
    expect(e.suggestion).toContain('maxEpisodeSteps');
    expect(thrown(() => makeEnv('Pendulum-v1', { g: Number.NaN })).field).toBe('options.g');
    expect(thrown(() => makeEnv('Pendulum-v1', { m: -1 })).field).toBe('options.m');
    expect(thrown(() => makeEnv('Acrobot-v1', { book_or_nips: 'paper' })).message).toContain('"book", "nips"');
    expect(thrown(() => makeEnv('CartPole-v1', { maxEpisodeSteps: 0 })).field).toBe('options.maxEpisodeSteps');
    expect(thrown(() => makeEnv('CartPole-v1', { sutton_barto_reward: 1 })).field).toBe('options.sutton_barto_reward');
  });

  it('discrete actions outside the space, non-integers and NaN: BAD_ACTION naming env and value', () => {
    const env = makeEnv('CartPole-v1');
    env.reset({ seed: 0 });
    for (const bad of [2, -1, 0.5, Number.NaN]) {
      const e = thrown(() => env.step(bad));
      expect(e.code).toBe('BAD_ACTION');
      expect(e.message).toContain('CartPole-v1');
      expect(e.message).toContain(String(bad));
    }
    expect(thrown(() => env.step(new Float32Array([1]))).code).toBe('BAD_ACTION');
    // The env is still usable after a refused action.
    expect(env.step(1).terminated).toBe(false);
  });

  it('continuous actions: NaN/Inf/wrong length are refused, out-of-range values are clipped as Gymnasium does', () => {
    const env = makeEnv('Pendulum-v1');
    env.reset({ seed: 0 });
    expect(thrown(() => env.step([Number.NaN])).code).toBe('BAD_ACTION');
    expect(thrown(() => env.step(new Float32Array([Infinity]))).code).toBe('BAD_ACTION');
    expect(thrown(() => env.step([0.1, 0.2])).message).toContain('Pendulum-v1');
    expect(thrown(() => env.step(new Float32Array(0))).code).toBe('BAD_ACTION');
    expect(env.step([100]).truncated).toBe(false);
    const mcc = makeEnv('MountainCarContinuous-v0');
    mcc.reset({ seed: 0 });
    expect(mcc.step(-7).terminated).toBe(false); // a plain number is accepted for a 1-D box
  });

  it('step before reset and after the episode ended: ENV_STATE', () => {
    const env = makeEnv('CartPole-v1');
    expect(thrown(() => env.step(0)).code).toBe('ENV_STATE');
    expect(thrown(() => env.getState()).code).toBe('ENV_STATE');
    env.reset({ seed: 0 });
    let r;
    do r = env.step(1);
    while (!r.terminated);
    const e = thrown(() => env.step(1));
    expect(e.code).toBe('ENV_STATE');
    expect(e.message).toMatch(/terminated at step \d+/);
    env.reset();
    expect(env.step(0).terminated).toBe(false);

    const short = makeEnv('MountainCar-v0', { maxEpisodeSteps: 2 });
    short.reset({ seed: 0 });
    short.step(1);
    expect(short.step(1).truncated).toBe(true);
    expect(thrown(() => short.step(1)).message).toContain('truncated');
  });

  it('bad seeds and states: BAD_ARGUMENT', () => {
    const env = makeEnv('Acrobot-v1');
    expect(thrown(() => env.reset({ seed: -1 })).field).toBe('seed');
    expect(thrown(() => env.reset({ seed: 1.5 })).field).toBe('seed');
    expect(thrown(() => env.setState([0, 0, 0])).field).toBe('state');
    expect(thrown(() => env.setState([0, 0, Number.NaN, 0])).field).toBe('state[2]');
  });

  it('vector env: bad batches are refused whole, before any copy steps', () => {
    const v = makeVectorEnv('CartPole-v1', 3);
    expect(thrown(() => v.step(new Int32Array(3))).code).toBe('ENV_STATE');
    v.reset({ seed: 0 });
    const before = [0, 1, 2].map((i) => [...v.getState(i)]);
    const e = thrown(() => v.step(new Int32Array([1, 0, 2])));
    expect(e.code).toBe('BAD_ACTION');
    expect(e.field).toBe('actions[2]');
    expect(thrown(() => v.step(new Int32Array(2))).field).toBe('actions');
    expect([0, 1, 2].map((i) => [...v.getState(i)])).toEqual(before);
    const p = makeVectorEnv('Pendulum-v1', 2);
    p.reset({ seed: 0 });
    expect(thrown(() => p.step(new Float32Array([0, Number.NaN]))).field).toBe('actions[1]');
    expect(thrown(() => makeVectorEnv('CartPole-v1', 0)).field).toBe('numEnvs');
  });
});
