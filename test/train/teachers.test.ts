// The shipped teachers (models/<env>/): the card is complete, the actor is large, teacher.onnx
// computes what policy.json computes, and the card's deterministic evaluation is reproduced here
// from policy.json (same reset seeds, same actions) and meets the environment's target.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { forward, paramCount } from '../../pipeline/src/ir/forward.js';
import { readPolicyFile } from '../../pipeline/src/ir/serialize.js';
import { outputName } from '../../pipeline/src/ir/types.js';
import { createSession, runOnce } from '../../pipeline/src/onnx/ort.js';
import { evaluatePolicy } from '../../pipeline/src/train/evaluate.js';

const MODELS = join(import.meta.dirname, '../../models');
/** Minimum mean return over the 100 deterministic episodes. */
const TARGETS: Record<string, number> = {
  'CartPole-v1': 495,
  'Acrobot-v1': -85,
  'MountainCar-v0': -110,
  'MountainCarContinuous-v0': 90,
  'Pendulum-v1': -200,
};
const dirs = existsSync(MODELS) ? readdirSync(MODELS).filter((d) => existsSync(join(MODELS, d, 'card.json'))) : [];

describe('shipped teachers', () => {
  it('ships a teacher for every classic-control environment', () => {
    expect(dirs.sort()).toEqual(Object.keys(TARGETS).map((e) => e.toLowerCase()).sort());
  });

  for (const dir of dirs) {
    it(`${dir}: card, size, ONNX parity and evaluation`, async () => {
      const card = JSON.parse(readFileSync(join(MODELS, dir, 'card.json'), 'utf8'));
      for (const k of ['env', 'algorithm', 'hyperParameters', 'seed', 'envSteps', 'wallTimeSec', 'backend', 'parameterCount', 'evaluation', 'date']) {
        expect(card, k).toHaveProperty(k);
      }
      expect(card.env.toLowerCase()).toBe(dir);
      const model = await readPolicyFile(join(MODELS, dir, 'policy.json'));
      expect(paramCount(model)).toBe(card.parameterCount);
      expect(card.parameterCount).toBeGreaterThanOrEqual(64_000);

      const session = await createSession(readFileSync(join(MODELS, dir, 'teacher.onnx')), 'teacher.onnx');
      const batch = 16;
      const obs = Float32Array.from({ length: batch * model.obsDim }, (_, i) => Math.sin(i * 1.7) * 1.5);
      const got = await runOnce(session, 'teacher.onnx', 'obs', outputName(model.head), obs, batch, model.obsDim);
      const want = forward(model, obs, batch);
      want.forEach((v, i) => expect(got.data[i]).toBeCloseTo(v, 3));

      // The card's 100 returns give its statistics; the first 8 episodes are replayed here (all 100
      // take tens of seconds for CartPole's 500-step episodes).
      const ev = card.evaluation;
      expect(ev.episodes).toBe(100);
      expect(ev.returns).toHaveLength(100);
      const mean = ev.returns.reduce((a: number, b: number) => a + b, 0) / 100;
      expect(mean).toBeCloseTo(ev.mean, 6);
      expect(Math.min(...ev.returns)).toBeCloseTo(ev.min, 6);
      expect(Math.max(...ev.returns)).toBeCloseTo(ev.max, 6);
      const { returns } = evaluatePolicy(model, card.env, 8, ev.seedStart);
      returns.forEach((r, i) => expect(r).toBeCloseTo(ev.returns[i], 6));
      expect(ev.mean).toBeGreaterThanOrEqual(TARGETS[card.env]);
    });
  }
});
