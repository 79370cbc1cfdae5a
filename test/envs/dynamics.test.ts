import { describe, expect, it } from 'vitest';
import { makeEnv } from '@edgedistill/runtime/envs';
import { angleNormalize } from '../../runtime/src/envs/pendulum.js';

describe('hand-checked dynamics', () => {
  it('CartPole: one Euler step from rest with the pole upright', () => {
    const env = makeEnv('CartPole-v1');
    env.setState([0, 0, 0, 0]);
    const r = env.step(1);
    // theta = 0: temp = F/M = 10/1.1; thetaacc = -temp / (l (4/3 - mp/M)); xacc = temp - mp l thetaacc / M.
    const temp = 10 / 1.1;
    const thetaacc = (0 - temp) / (0.5 * (4 / 3 - 0.1 / 1.1));
    const xacc = temp - (0.05 * thetaacc) / 1.1;
    // Euler: positions move with the old velocities (0), velocities with the accelerations.
    expect([...env.getState()]).toEqual([0, 0.02 * xacc, 0, 0.02 * thetaacc]);
    expect(r).toMatchObject({ reward: 1, terminated: false, truncated: false });
  });

  it('CartPole: terminates past 12 degrees or 2.4 m, with reward 1 (or -1 with sutton_barto_reward)', () => {
    const env = makeEnv('CartPole-v1');
    env.setState([2.39, 1, 0, 0]);
    expect(env.step(1)).toMatchObject({ terminated: true, reward: 1 });
    const sb = makeEnv('CartPole-v1', { sutton_barto_reward: true });
    sb.setState([0, 0, 0.2094, 0.5]);
    expect(sb.step(0)).toMatchObject({ terminated: true, reward: -1 });
    sb.setState([0, 0, 0, 0]);
    expect(sb.step(0)).toMatchObject({ terminated: false, reward: 0 });
  });

  it('MountainCar: the left wall stops the car', () => {
    const env = makeEnv('MountainCar-v0');
    env.setState([-1.2, -0.05]);
    const r = env.step(0);
    expect([...env.getState()]).toEqual([-1.2, 0]);
    expect(r.reward).toBe(-1);
  });

  it('MountainCarContinuous: reaching the goal pays 100 minus the action cost of the raw action', () => {
    const env = makeEnv('MountainCarContinuous-v0');
    env.setState([0.449, 0.05]);
    const r = env.step([1.5]); // clipped to 1 for the dynamics, unclipped (1.5^2 * 0.1) in the reward
    expect(r.terminated).toBe(true);
    expect(r.reward).toBeCloseTo(100 - 0.225, 12);
  });

  it('Pendulum: cost at rest upside-down with no torque is pi^2, and the angle wraps', () => {
    const env = makeEnv('Pendulum-v1');
    env.setState([Math.PI, 0]);
    const r = env.step([0]);
    expect(r.reward).toBeCloseTo(-(Math.PI ** 2), 12);
    expect(angleNormalize(0)).toBe(0);
    expect(angleNormalize(3 * Math.PI / 2)).toBeCloseTo(-Math.PI / 2, 14);
    expect(angleNormalize(-3 * Math.PI / 2)).toBeCloseTo(Math.PI / 2, 14);
    expect(angleNormalize(-7)).toBeCloseTo(-7 + 2 * Math.PI, 14);
    // Torque beyond max_torque is clipped: +5 and +2 give the same next state.
    const a = makeEnv('Pendulum-v1');
    const b = makeEnv('Pendulum-v1');
    a.setState([0.3, 0.1]);
    b.setState([0.3, 0.1]);
    expect(a.step([5]).obs).toEqual(b.step([2]).obs);
  });

  it('Acrobot: hanging still with no torque stays still and costs -1 per step', () => {
    const env = makeEnv('Acrobot-v1');
    env.setState([0, 0, 0, 0]);
    const r = env.step(1);
    expect([...env.getState()].map((v) => Math.abs(v) < 1e-12)).toEqual([true, true, true, true]);
    expect(r).toMatchObject({ reward: -1, terminated: false });
    expect([...r.obs].map((v) => Math.round(v * 1e6) / 1e6 + 0)).toEqual([1, 0, 1, 0, 0, 0]);
  });

  it('options change the physics (gravity, masses, time step)', () => {
    const moon = makeEnv('Pendulum-v1', { g: 1.62 });
    const earth = makeEnv('Pendulum-v1');
    moon.setState([1, 0]);
    earth.setState([1, 0]);
    const m = moon.step([0]).obs[2];
    const e = earth.step([0]).obs[2];
    expect(m / e).toBeCloseTo(1.62 / 10, 6);
    const heavy = makeEnv('CartPole-v1', { masspole: 1.0, length: 1.0, tau: 0.01 });
    heavy.setState([0, 0, 0.1, 0]);
    const light = makeEnv('CartPole-v1');
    light.setState([0, 0, 0.1, 0]);
    expect(heavy.step(1).obs[3]).not.toBe(light.step(1).obs[3]);
  });

  it('truncates at maxEpisodeSteps, counted from reset or setState', () => {
    const env = makeEnv('Pendulum-v1', { maxEpisodeSteps: 3 });
    env.reset({ seed: 1 });
    expect([env.step([0]).truncated, env.step([0]).truncated, env.step([0]).truncated]).toEqual([false, false, true]);
    env.setState([0, 0]);
    expect([env.step([0]).truncated, env.step([0]).truncated, env.step([0]).truncated]).toEqual([false, false, true]);
  });
});
