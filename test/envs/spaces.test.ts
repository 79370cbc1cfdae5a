import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatSpace, listEnvs, makeEnv } from '@edgedistill/runtime/envs';
import { parseGymSpace } from '../../pipeline/src/envs/verify.js';
import { ENV_IDS, refdataFiles } from './helpers.js';

const f32 = Math.fround;

describe('spaces, time limits and thresholds equal Gymnasium 1.x', () => {
  it.each(refdataFiles())('%s: the printed spaces and TimeLimit match ours', (file) => {
    const d = JSON.parse(readFileSync(file, 'utf8'));
    const env = makeEnv(d.env);
    expect(env.maxEpisodeSteps).toBe(d.max_episode_steps);
    for (const [printed, ours] of [
      [d.observation_space, env.observationSpace],
      [d.action_space, env.actionSpace],
    ] as const) {
      const p = parseGymSpace(printed)!;
      expect(p.kind).toBe(ours.kind);
      if (p.kind === 'discrete' && ours.kind === 'discrete') expect(ours.n).toBe(p.n);
      if (p.kind === 'box' && ours.kind === 'box') {
        const dim = ours.low.length;
        const expand = (v: number[]) => (v.length === 1 ? Array(dim).fill(v[0]) : v);
        // NumPy prints the shortest decimal that reads back as the same float32.
        expect([...ours.low]).toEqual(expand(p.low).map(f32));
        expect([...ours.high]).toEqual(expand(p.high).map(f32));
      }
    }
  });

  it('bounds are the float32 values Gymnasium computes', () => {
    const cp = makeEnv('CartPole-v1').observationSpace;
    expect([...cp.high]).toEqual([f32(4.8), Infinity, f32(((12 * 2 * Math.PI) / 360) * 2), Infinity]);
    expect([...cp.low]).toEqual([-f32(4.8), -Infinity, -f32(((12 * 2 * Math.PI) / 360) * 2), -Infinity]);
    expect([...makeEnv('Acrobot-v1').observationSpace.high]).toEqual([1, 1, 1, 1, f32(4 * Math.PI), f32(9 * Math.PI)]);
    expect([...makeEnv('MountainCar-v0').observationSpace.low]).toEqual([f32(-1.2), f32(-0.07)]);
    expect([...makeEnv('MountainCarContinuous-v0').observationSpace.high]).toEqual([f32(0.6), f32(0.07)]);
    expect(makeEnv('MountainCarContinuous-v0').actionSpace).toMatchObject({ kind: 'box', shape: [1] });
    const pa = makeEnv('Pendulum-v1');
    expect([...pa.observationSpace.high]).toEqual([1, 1, 8]);
    expect(pa.actionSpace.kind === 'box' && [...pa.actionSpace.low, ...pa.actionSpace.high]).toEqual([-2, 2]);
    expect(makeEnv('Acrobot-v1').actionSpace).toEqual({ kind: 'discrete', n: 3, start: 0 });
  });

  it('options move the bounds as they would in Gymnasium', () => {
    expect([...makeEnv('Pendulum-v1', { max_speed: 10 }).observationSpace.high]).toEqual([1, 1, 10]);
    const a = makeEnv('Pendulum-v1', { max_torque: 3.3 }).actionSpace;
    expect(a.kind === 'box' && a.high[0]).toBe(f32(3.3));
    expect(makeEnv('CartPole-v1', { x_threshold: 3 }).observationSpace.high[0]).toBe(6);
    expect(makeEnv('CartPole-v1', { maxEpisodeSteps: 50 }).maxEpisodeSteps).toBe(50);
    expect(makeEnv('CartPole-v1', { max_episode_steps: 70 }).maxEpisodeSteps).toBe(70);
  });

  it('listEnvs gives ids, spaces, time limits and reward thresholds', () => {
    const specs = listEnvs().filter((s) => (ENV_IDS as readonly string[]).includes(s.id));
    expect(specs.map((s) => [s.id, s.maxEpisodeSteps, s.rewardThreshold])).toEqual([
      ['CartPole-v1', 500, 475],
      ['Acrobot-v1', 500, -100],
      ['MountainCar-v0', 200, -110],
      ['MountainCarContinuous-v0', 999, 90],
      ['Pendulum-v1', 200, null],
    ]);
    expect(specs.map((s) => formatSpace(s.actionSpace))).toEqual([
      'Discrete(2)',
      'Discrete(3)',
      'Discrete(3)',
      'Box(-1.0, 1.0, (1,), float32)',
      'Box(-2.0, 2.0, (1,), float32)',
    ]);
    expect(formatSpace(specs[4].observationSpace)).toBe('Box([-1.0, -1.0, -8.0], [1.0, 1.0, 8.0], (3,), float32)');
  });

  it('observations are Float32Array within the observation space', () => {
    for (const id of ENV_IDS) {
      const env = makeEnv(id);
      const { obs } = env.reset({ seed: 3 });
      expect(obs).toBeInstanceOf(Float32Array);
      expect(obs.length).toBe(env.observationSpace.low.length);
      const s = env.step(env.actionSpace.kind === 'discrete' ? 0 : new Float32Array([0.5]));
      expect(s.obs).toBeInstanceOf(Float32Array);
      s.obs.forEach((v, k) => {
        expect(v).toBeGreaterThanOrEqual(env.observationSpace.low[k]);
        expect(v).toBeLessThanOrEqual(env.observationSpace.high[k]);
      });
      expect(env.getState()).toBeInstanceOf(Float64Array);
    }
  });
});
