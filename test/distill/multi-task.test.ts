import { describe, expect, it } from 'vitest';
import { distillMultiTask, taskPolicy, multiTaskParamCount, teacherFromPolicy } from '../../pipeline/src/distill/index.js';
import { forward } from '../../pipeline/src/ir/forward.js';
import type { PolicyModel } from '../../pipeline/src/ir/types.js';
import { policyToOnnx } from '../../pipeline/src/onnx/write.js';
import { cartPoleTeacher, mountainCarContinuousTeacher } from './teachers.js';

describe('multi-task distillation (one trunk, a head per task)', () => {
  it('distills a CartPole and a MountainCarContinuous teacher into one student; each task policy is an exact IR model', async () => {
    const { policy, report } = await distillMultiTask({
      tasks: [
        { teacher: teacherFromPolicy(cartPoleTeacher(), 'cartpole'), envId: 'CartPole-v1' },
        { teacher: teacherFromPolicy(mountainCarContinuousTeacher(), 'mcc'), envId: 'MountainCarContinuous-v0' },
      ],
      hidden: [32, 32],
      seed: 0,
    });
    expect(report.targetsMet).toBe(true);
    const [cp, mcc] = report.tasks;
    expect(cp.env).toBe('CartPole-v1');
    expect(cp.agreement).toBeGreaterThanOrEqual(0.99);
    expect(cp.returnRetention).toBeGreaterThanOrEqual(0.99);
    expect(mcc.actionError).toBeLessThan(0.02);
    expect(mcc.returnRetention).toBeGreaterThanOrEqual(0.99);
    expect(policy.inputDim).toBe(4 + 2);
    expect(report.params).toBe(multiTaskParamCount(policy));
    // One shared trunk: (6*32+32) + (32*32+32), heads 32*2+2 and 32*1+1.
    expect(report.params).toBe(6 * 32 + 32 + 32 * 32 + 32 + 66 + 33);

    // taskPolicy folds padding + one-hot into layer 0: same outputs as the trunk on padded inputs.
    for (const [i, obsDim] of [[0, 4], [1, 2]] as const) {
      const single = taskPolicy(policy, i);
      const task = policy.tasks[i];
      const n = 16;
      const obs = Float32Array.from({ length: n * obsDim }, (_, k) => Math.sin(k * 0.37) * 0.1);
      const padded = new Float32Array(n * policy.inputDim);
      for (let r = 0; r < n; r++) {
        for (let k = 0; k < obsDim; k++) padded[r * policy.inputDim + k] = Math.fround(obs[r * obsDim + k] - task.obsNorm.mean[k]) / task.obsNorm.std[k];
        padded[r * policy.inputDim + policy.maxObsDim + i] = 1;
      }
      const full: PolicyModel = { envId: null, obsDim: policy.inputDim, obsNorm: null, layers: [...policy.trunk, task.layer], head: task.head, card: {} };
      const a = forward(single, obs, n);
      const b = forward(full, padded, n);
      for (let k = 0; k < a.length; k++) expect(Math.abs(a[k] - b[k])).toBeLessThan(1e-5);
      // ...and it exports like any other IR policy.
      expect(policyToOnnx(single).length).toBeGreaterThan(100);
    }
  });

  it('needs at least two tasks', async () => {
    await expect(distillMultiTask({ tasks: [{ teacher: teacherFromPolicy(cartPoleTeacher()), envId: 'CartPole-v1' }] })).rejects.toThrow(/at least two tasks/);
  });
});
