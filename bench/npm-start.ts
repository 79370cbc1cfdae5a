/**
 * Wall time of `npm start` end to end, run as a child process from the repository root (stdout is
 * a pipe, so the command runs quiet). Labelled with what `start` is today (package.json), since
 * it grows into the full pipeline.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, runChild, type BenchContext } from './util.js';

export async function benchNpmStart(ctx: BenchContext): Promise<Record<string, unknown>> {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  const script = pkg.scripts?.start ?? null;
  if (!script) return { skipped: 'package.json has no start script' };
  const timeoutSeconds = ctx.quick ? 600 : 3600;
  ctx.log(`  npm start (${script})`);
  const r = await runChild('npm', ['start'], { cwd: REPO_ROOT, env: { ...process.env, CI: '1' }, timeoutSeconds });
  const tail = (s: string) => s.trim().split('\n').slice(-5);
  return {
    command: 'npm start',
    script,
    label: `npm start = \`${script}\``,
    wallSeconds: r.seconds,
    exitCode: r.code,
    signal: r.signal,
    timedOut: r.timedOut,
    ok: r.code === 0 && !r.timedOut,
    stdoutTail: tail(r.stdout),
    stderrTail: r.code === 0 ? undefined : tail(r.stderr),
  };
}
