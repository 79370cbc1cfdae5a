import { afterEach, describe, expect, it } from 'vitest';
import {
  box,
  discrete,
  listEnvs,
  makeEnv,
  makeVectorEnv,
  registerEnv,
  unregisterEnv,
  type Action,
  type Env,
  type StepResult,
} from '@edgedistill/runtime/envs';
import { EdgeDistillError } from '@edgedistill/runtime/errors';

/** A 1-D point that moves left/right; reaching |x| >= 3 ends the episode. */
class LineWalk implements Env {
  readonly id = 'Test/LineWalk-v0';
  readonly observationSpace = box([-3], [3]);
  readonly actionSpace = discrete(2);
  readonly maxEpisodeSteps: number;
  private x = 0;
  private steps = 0;
  private started = false;
  constructor(private readonly stepSize = 1, maxSteps = 10) {
    this.maxEpisodeSteps = maxSteps;
  }
  reset(opts: { seed?: number } = {}) {
    this.x = (opts.seed ?? 0) % 2;
    this.steps = 0;
    this.started = true;
    return { obs: new Float32Array([this.x]) };
  }
  step(action: Action): StepResult {
    if (!this.started) throw new EdgeDistillError('ENV_STATE', 'reset first');
    this.x += action === 1 ? this.stepSize : -this.stepSize;
    this.steps++;
    const terminated = Math.abs(this.x) >= 3;
    return { obs: new Float32Array([this.x]), reward: terminated ? 1 : 0, terminated, truncated: this.steps >= this.maxEpisodeSteps };
  }
  getState() {
    return new Float64Array([this.x]);
  }
  setState(s: ArrayLike<number>) {
    this.x = s[0];
    this.steps = 0;
  }
}

afterEach(() => {
  unregisterEnv('Test/LineWalk-v0');
  unregisterEnv('Test/Broken-v0');
});

describe('user-registered environments', () => {
  it('makeEnv, listEnvs and makeVectorEnv work with a registered class', () => {
    registerEnv('Test/LineWalk-v0', (o) => new LineWalk(Number(o?.stepSize ?? 1)), { rewardThreshold: 1 });
    const env = makeEnv('Test/LineWalk-v0', { stepSize: 1.5 });
    env.reset({ seed: 0 });
    expect(env.step(1).obs[0]).toBe(1.5);
    expect(env.step(1)).toMatchObject({ terminated: true, reward: 1 });
    expect(listEnvs().find((s) => s.id === 'Test/LineWalk-v0')).toMatchObject({ maxEpisodeSteps: 10, rewardThreshold: 1 });

    const vec = makeVectorEnv('Test/LineWalk-v0', 3);
    expect(vec.reset({ seed: 4 }).obs).toEqual(new Float32Array([0, 1, 0])); // copy i gets seed 4 + i
    let r = vec.step(new Int32Array([1, 1, 0]));
    r = vec.step(new Int32Array([1, 1, 0]));
    expect([...r.terminated]).toEqual([0, 1, 0]);
    expect(r.finalObs[1]).toBe(3);
    expect(r.obs[1]).toBe(0); // auto-reset without a seed
    expect([...r.obs]).toEqual([2, 0, -2]);
  });

  it('refuses duplicates, built-in ids and objects that are not Envs', () => {
    registerEnv('Test/LineWalk-v0', () => new LineWalk());
    expect(() => registerEnv('Test/LineWalk-v0', () => new LineWalk())).toThrow(/already registered/);
    registerEnv('Test/LineWalk-v0', () => new LineWalk(2), { overwrite: true });
    const env = makeEnv('Test/LineWalk-v0');
    env.reset();
    expect(env.step(1).obs[0]).toBe(2);
    expect(() => registerEnv('CartPole-v1', () => new LineWalk())).toThrow(/built-in/);
    registerEnv('Test/Broken-v0', () => ({ id: 'x' }) as unknown as Env);
    let err: unknown;
    try {
      makeEnv('Test/Broken-v0');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EdgeDistillError);
    expect((err as EdgeDistillError).message).toMatch(/missing reset\(\), step\(\)/);
  });
});
