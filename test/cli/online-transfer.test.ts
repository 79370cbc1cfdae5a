// The CLI forms of online distillation and transfer, through the real bin with --json:
// `train --distill-into` writes a student directory that `distill --init-from` then adapts to a
// variant (--env-option), and bad flags fail with exit 2 and a JSON error naming the flag.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../..');
const cli = join(repo, 'pipeline/bin/edgedistill.js');
const root = mkdtempSync(join(tmpdir(), 'edgedistill-cli-online-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [cli, ...args], { cwd: repo, env: { ...process.env, NO_COLOR: '1' }, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

describe('edgedistill train --distill-into, distill --init-from (CLI)', () => {
  it('trains a teacher with an online student, then adapts the student to gravity 12', async () => {
    const out = join(root, 'cp');
    const t = await run([
      'train', '--env', 'CartPole-v1', '--algo', 'ppo', '--steps', '2048', '--hidden', '32,32', '--hp', 'numEnvs=8', '--hp', 'numSteps=32',
      '--distill-into', '16,16', '--distill-every', '1024', '--distill-samples', '12800', '--eval-episodes', '5', '--out', out, '--json',
    ]);
    expect(t.code, t.stderr).toBe(0);
    const card = JSON.parse(t.stdout);
    expect(card.onlineDistill.history.map((h: { step: number }) => h.step)).toEqual([1024, 2048]);
    expect(card.student.dir).toBe(join(out, 'student'));
    for (const f of ['student.onnx', 'policy.json', 'report.json']) expect(existsSync(join(out, 'student', f))).toBe(true);

    const adapted = join(root, 'cp-g12');
    const d = await run([
      'distill', '--init-from', join(out, 'student'), '--teacher', join(out, 'teacher.onnx'), '--env', 'CartPole-v1', '--env-option', 'gravity=12',
      '--max-samples', '51200', '--out', adapted, '--json',
    ]);
    expect(d.code, d.stderr).toBe(0);
    const report = JSON.parse(d.stdout);
    expect(report.transfer).toMatchObject({ initFrom: join(out, 'student'), envOptions: { gravity: 12 }, source: 'teacher', budget: { samples: 51200 } });
    expect(report.transfer.fromInit.samples).toBeLessThanOrEqual(51200);
    expect(report.transfer.fromScratch.samples).toBeLessThanOrEqual(51200);
    expect(report.init.maxAbsDiffAtStep0).toBeLessThan(1e-4);
    expect(JSON.parse(readFileSync(join(adapted, 'report.json'), 'utf8')).transfer.verdict).toBe(report.transfer.verdict);
    expect(existsSync(join(adapted, 'student.onnx'))).toBe(true);
    expect(existsSync(join(adapted, 'from-scratch', 'policy.json'))).toBe(true);
  });

  it('bad flags exit 2 with a JSON error naming the flag', async () => {
    const missing = join(root, 'does-not-exist');
    const a = await run(['distill', '--init-from', missing, '--teacher', 'models/cartpole-v1/teacher.onnx', '--env', 'CartPole-v1', '--json']);
    expect(a.code).toBe(2);
    expect(JSON.parse(a.stdout)).toMatchObject({ error: 'BAD_ARGUMENT', field: '--init-from', file: missing });
    const b = await run(['train', '--env', 'CartPole-v1', '--algo', 'ppo', '--env-option', 'gravty=12', '--json']);
    expect(b.code).toBe(2);
    expect(JSON.parse(b.stdout)).toMatchObject({ error: 'BAD_ARGUMENT', field: '--env-option gravty' });
    const c = await run(['distill', '--init-from', 'models/cartpole-v1', '--env', 'CartPole-v1', '--json']);
    expect(c.code).toBe(2);
    expect(JSON.parse(c.stdout)).toMatchObject({ error: 'BAD_ARGUMENT', field: '--teacher' });
    const e = await run(['train', '--env', 'CartPole-v1', '--algo', 'ppo', '--distill-into', '32,x', '--json']);
    expect(e.code).toBe(2);
    expect(JSON.parse(e.stdout)).toMatchObject({ error: 'BAD_ARGUMENT', field: '--distill-into' });
  });
});
