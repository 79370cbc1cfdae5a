// `edgedistill eval --env-option k=v`: the policy is scored on the variant (the shipped CartPole
// teacher balances the default pole and fails a pole three times as long), the library call agrees
// with the trainers' evaluator on the same variant and seeds, and bad options exit 2 naming the key.
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluatePolicyFile } from '../../pipeline/src/eval/evaluate.js';
import { readPolicyFile } from '../../pipeline/src/ir/serialize.js';
import { evaluatePolicy } from '../../pipeline/src/train/evaluate.js';

const repo = resolve(import.meta.dirname, '../..');
const cli = join(repo, 'pipeline/bin/edgedistill.js');
const teacher = join(repo, 'models/cartpole-v1/policy.json');

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [cli, ...args], { cwd: repo, env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

describe('eval --env-option', () => {
  it('scores the policy on the variant: same seeds, another pole, another return', async () => {
    const base = await evaluatePolicyFile(teacher, { env: 'CartPole-v1', episodes: 10, seed: 0 });
    const long = await evaluatePolicyFile(teacher, { env: 'CartPole-v1', episodes: 10, seed: 0, envOptions: { length: 1.5 } });
    expect(base.envOptions).toBeNull();
    expect(long.envOptions).toEqual({ length: 1.5 });
    expect(base.return.mean).toBeGreaterThan(450);
    expect(long.return.mean).toBeLessThan(100);
    // The trainers' sequential evaluator on the same variant and seeds gives the same returns.
    const model = await readPolicyFile(teacher);
    const ref = evaluatePolicy(model, 'CartPole-v1', 10, 0, { length: 1.5 }).stats;
    expect(long.return.mean).toBeCloseTo(ref.mean, 9);
    expect(long.return.min).toBe(ref.min);
    expect(long.return.max).toBe(ref.max);
  });

  it('through the CLI: --json carries the options; bad options exit 2 naming the option', async () => {
    const ok = await run(['eval', '--policy', teacher, '--env', 'CartPole-v1', '--episodes', '5', '--env-option', 'length=1.5', '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    const r = JSON.parse(ok.stdout);
    expect(r.envOptions).toEqual({ length: 1.5 });
    expect(r.return.mean).toBeLessThan(100);
    const unknown = await run(['eval', '--policy', teacher, '--env-option', 'gravty=12', '--json']);
    expect(unknown.code).toBe(2);
    expect(JSON.parse(unknown.stdout)).toMatchObject({ error: 'BAD_ARGUMENT', field: '--env-option gravty', message: expect.stringContaining('did you mean "gravity"') });
    const bad = await run(['eval', '--policy', teacher, '--env-option', 'length=0', '--json']);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout)).toMatchObject({ error: 'BAD_ARGUMENT', field: '--env-option length', message: expect.stringContaining('must be > 0') });
    const noValue = await run(['eval', '--policy', teacher, '--env-option', 'length', '--json']);
    expect(noValue.code).toBe(2);
    expect(JSON.parse(noValue.stdout)).toMatchObject({ error: 'BAD_ARGUMENT', field: '--env-option' });
  }, 120_000);
});
