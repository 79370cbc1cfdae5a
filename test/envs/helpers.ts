import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Gymnasium recordings shared by the team (CI has shared/ beside the clone). */
export const refdataDir = path.resolve(repoRoot, '..', 'shared', 'refdata');
/** More Gymnasium recordings (variants, clipping, termination), made by fixtures/record_gym.py. */
export const fixturesDir = path.resolve(repoRoot, 'test', 'envs', 'fixtures');

export const refdataFiles = (): string[] =>
  readdirSync(refdataDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => path.join(refdataDir, f));

export const fixtureFiles = (): string[] =>
  readdirSync(fixturesDir)
    .filter((f) => /^gym-.*\.json$/.test(f) && f !== 'gym-resets.json')
    .sort()
    .map((f) => path.join(fixturesDir, f));

export const ENV_IDS = ['CartPole-v1', 'Acrobot-v1', 'MountainCar-v0', 'MountainCarContinuous-v0', 'Pendulum-v1'] as const;

export function runCli(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'pipeline', 'bin', 'edgedistill.js'), ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 60_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
