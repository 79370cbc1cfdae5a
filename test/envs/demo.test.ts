import { describe, expect, it } from 'vitest';
import { randomRollouts } from '../../pipeline/src/demo/random-rollouts.js';
import { ENV_IDS, runCli } from './helpers.js';

describe('random-policy rollouts (the demo)', () => {
  it('rolls out every env, reproducibly for a seed', () => {
    const a = randomRollouts(4, 0);
    expect(a.map((r) => r.env)).toEqual([...ENV_IDS]);
    expect(randomRollouts(4, 0)).toEqual(a);
    expect(randomRollouts(4, 1)).not.toEqual(a);
    const byId = Object.fromEntries(a.map((r) => [r.env, r]));
    // A random policy: CartPole falls in tens of steps, MountainCar never reaches the flag.
    expect(byId['CartPole-v1'].return.mean).toBeGreaterThan(8);
    expect(byId['CartPole-v1'].return.mean).toBeLessThan(100);
    expect(byId['MountainCar-v0'].return).toEqual({ mean: -200, std: 0, min: -200, max: -200 });
    expect(byId['Pendulum-v1'].return.max).toBeLessThan(0);
    for (const r of a) {
      expect(r.episodes).toBe(4);
      expect(r.return.min).toBeLessThanOrEqual(r.return.mean);
      expect(r.return.max).toBeGreaterThanOrEqual(r.return.mean);
    }
  });

  it('edgedistill demo --json prints the same numbers', () => {
    const r = runCli(['demo', '--episodes', '2', '--seed', '3', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(JSON.stringify(randomRollouts(2, 3))));
  });
});
