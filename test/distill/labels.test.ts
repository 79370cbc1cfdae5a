import { describe, expect, it } from 'vitest';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { makeEnv } from '@edgedistill/runtime/envs';
import { defaultLoss, defaultTau, makeLabelSpec, makeTargets } from '../../pipeline/src/distill/labels.js';
import { describeTeacher, teacherFromPolicy } from '../../pipeline/src/distill/teacher.js';
import { cartPoleTeacher, mountainCarContinuousTeacher } from './teachers.js';

const f32 = (a: number[]) => Float32Array.from(a);
const discrete = (values: 'logits' | 'q_values' | 'action', n = 2) => ({ kind: 'discrete' as const, n, values });

function label(spec: ReturnType<typeof makeLabelSpec>, raws: Float32Array[], batch: number) {
  const targets = new Float32Array(batch * spec.targetDim);
  const actions = new Float32Array(batch * spec.actionDim);
  makeTargets(spec, raws, batch, targets, actions, new Float32Array(batch * spec.targetDim));
  return { targets: Array.from(targets), actions: Array.from(actions) };
}

describe('label specs', () => {
  it('defaults: KL with tau 0.01 on q-values, tau 1 on logits, NLL for action teachers, MSE for continuous', () => {
    expect(defaultTau(discrete('q_values'))).toBe(0.01);
    expect(defaultTau(discrete('logits'))).toBe(1);
    expect(defaultLoss(discrete('logits'))).toBe('kl');
    expect(defaultLoss(discrete('action'))).toBe('nll');
    const cont = { kind: 'continuous' as const, dim: 1, low: f32([-1]), high: f32([1]), squash: 'tanh' as const, logStd: null };
    expect(defaultLoss(cont)).toBe('mse');
    expect(makeLabelSpec([cont]).studentSquash).toBe('none');
    expect(() => makeLabelSpec([discrete('action')], 'kl')).toThrow(/loss must be nll/);
    expect(() => makeLabelSpec([cont], 'kl')).toThrow(/needs a teacher with a log-std/);
    expect(() => makeLabelSpec([discrete('logits')], 'kl', 0)).toThrow(EdgeDistillError);
  });
});

describe('makeTargets', () => {
  it('KL: softmax(q / tau), averaged over teachers; teacher action = argmax of the mean', () => {
    const spec = makeLabelSpec([discrete('logits'), discrete('logits')], 'kl', 1);
    // teacher A: [0, ln 3] -> [1/4, 3/4]; teacher B: [ln 3, 0] -> [3/4, 1/4]; row 2 agrees on action 0.
    const l = label(spec, [f32([0, Math.log(3), Math.log(3), 0]), f32([Math.log(3), 0, Math.log(3), 0])], 2);
    expect(l.targets[0]).toBeCloseTo(0.5, 6);
    expect(l.targets[1]).toBeCloseTo(0.5, 6);
    expect(l.targets[2]).toBeCloseTo(0.75, 6);
    expect(l.actions).toEqual([0, 0]);
  });
  it('NLL: one-hot of the argmax; MSE: the mean raw values', () => {
    const nll = label(makeLabelSpec([discrete('q_values', 3)], 'nll'), [f32([1, 5, 2])], 1);
    expect(nll.targets).toEqual([0, 1, 0]);
    expect(nll.actions).toEqual([1]);
    const mse = label(makeLabelSpec([discrete('q_values'), discrete('q_values')], 'mse'), [f32([1, 2]), f32([3, 6])], 1);
    expect(mse.targets).toEqual([2, 4]);
    expect(mse.actions).toEqual([1]);
  });
  it('action teachers vote; a non-integer action is a located error', () => {
    const spec = makeLabelSpec([discrete('action', 3), discrete('action', 3), discrete('action', 3)]);
    const l = label(spec, [f32([2]), f32([2]), f32([0])], 1);
    expect(l.targets).toEqual([0, 0, 1]);
    expect(l.actions).toEqual([2]);
    expect(() => label(makeLabelSpec([discrete('action', 3)]), [f32([0.4])], 1)).toThrow(/not an integer in 0..2/);
  });
  it('continuous: MSE targets are the mean action; Gaussian KL targets the pre-squash mean', () => {
    const out = { kind: 'continuous' as const, dim: 1, low: f32([-2]), high: f32([2]), squash: 'tanh' as const, logStd: f32([-1]) };
    const mse = label(makeLabelSpec([out, out], 'mse'), [f32([1]), f32([0])], 1);
    expect(mse.targets[0]).toBeCloseTo(0.5, 7);
    const kl = label(makeLabelSpec([out], 'kl'), [f32([1])], 1);
    expect(kl.targets[0]).toBeCloseTo(Math.atanh(0.5), 6);
    expect(kl.actions[0]).toBe(1);
  });
});

describe('describeTeacher', () => {
  it('reads the outputs of IR teachers against the env spaces', () => {
    const cp = makeEnv('CartPole-v1');
    expect(describeTeacher(teacherFromPolicy(cartPoleTeacher()), cp.observationSpace, cp.actionSpace, 'CartPole-v1')).toEqual({ kind: 'discrete', n: 2, values: 'q_values' });
    const mcc = makeEnv('MountainCarContinuous-v0');
    const d = describeTeacher(teacherFromPolicy(mountainCarContinuousTeacher()), mcc.observationSpace, mcc.actionSpace, 'MountainCarContinuous-v0');
    expect(d.kind).toBe('continuous');
    expect(d.kind === 'continuous' && Array.from(d.logStd ?? [])).toEqual([-1]);
    // Without an env, the teacher's own head decides.
    expect(describeTeacher(teacherFromPolicy(cartPoleTeacher()), null, null, null)).toEqual({ kind: 'discrete', n: 2, values: 'q_values' });
  });
});
