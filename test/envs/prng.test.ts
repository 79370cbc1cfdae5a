import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NumpyGenerator, PCG64, SeedSequence, makeEnv } from '@edgedistill/runtime/envs';
import { ENV_IDS, fixturesDir, refdataFiles } from './helpers.js';

// Expected values printed by NumPy 2.4.6 (np.random.SeedSequence / PCG64 / Generator).
describe('NumPy SeedSequence + PCG64', () => {
  it('mixes entropy into the same pool and state words as NumPy', () => {
    expect([...new SeedSequence(0).pool]).toEqual([4265667335, 1328953910, 1320288413, 3365567143]);
    expect([...new SeedSequence(12345).generateState32(8)]).toEqual([
      2688385916, 3048105090, 4196366895, 3152189807, 924159892, 1692637855, 2685664627, 1052446614,
    ]);
    // A two-word int seed and a six-word entropy list (exercises the extra mixing loop).
    expect([...new SeedSequence(2 ** 32 + 7).pool]).toEqual([70599722, 3325653387, 3012850390, 3772321688]);
    expect([...new SeedSequence([1, 2, 3, 4, 5, 6]).pool]).toEqual([988259991, 2719934729, 3479241324, 1314086023]);
  });

  it('seeds PCG64 to the same 128-bit state and increment', () => {
    expect(new PCG64(0).stateBigInt()).toEqual({
      state: 35399562948360463058890781895381311971n,
      inc: 87136372517582989555478159403783844777n,
    });
    expect(new PCG64(2 ** 32 + 7).stateBigInt()).toEqual({
      state: 223287629857623181254596853466259223609n,
      inc: 308150279551341003411871369124747215903n,
    });
  });

  it('draws the same doubles as Generator.random() and uniform()', () => {
    const g = new NumpyGenerator(42);
    const v = Array.from({ length: 1000 }, () => g.random());
    expect(v[0]).toBe(0.7739560485559633);
    expect(v[999]).toBe(0.2808963859641551);
    expect(v.reduce((a, b) => a + b, 0)).toBe(497.17783852843127);
    const u = new NumpyGenerator(7);
    expect(u.uniform(-0.6, -0.4)).toBe(-0.4749809066790666);
    expect(u.uniform(-3.5, 10.25)).toBe(8.836689763331663);
  });

  it('rejects negative seeds', () => {
    expect(() => new SeedSequence(-1)).toThrow(/non-negative/);
  });
});

describe('seeded reset reproduces Gymnasium', () => {
  it.each(refdataFiles())('reset({seed}) gives initial_state and initial_obs of %s', (file) => {
    const data = JSON.parse(readFileSync(file, 'utf8'));
    const env = makeEnv(data.env);
    for (const ep of data.episodes) {
      const { obs } = env.reset({ seed: ep.seed });
      expect([...env.getState()]).toEqual(ep.initial_state);
      expect([...obs]).toEqual(ep.initial_obs);
    }
  });

  const resets = JSON.parse(readFileSync(path.join(fixturesDir, 'gym-resets.json'), 'utf8'));
  it.each(ENV_IDS)('%s: many seeds (up to 2^53-1), and unseeded resets continue the generator', (id) => {
    const rec = resets.envs[id];
    expect(rec.seeded.length).toBeGreaterThan(10);
    const env = makeEnv(id);
    for (const { seed, state } of rec.seeded) {
      env.reset({ seed });
      expect([...env.getState()]).toEqual(state);
    }
    env.reset({ seed: 5 });
    for (const state of rec.after_seed_5_unseeded) {
      env.reset();
      expect([...env.getState()]).toEqual(state);
    }
  });

  it('an unseeded first reset draws from OS entropy (two envs differ)', () => {
    const a = makeEnv('CartPole-v1');
    const b = makeEnv('CartPole-v1');
    a.reset();
    b.reset();
    expect([...a.getState()]).not.toEqual([...b.getState()]);
    for (const v of a.getState()) expect(Math.abs(v)).toBeLessThan(0.05);
  });
});
