/**
 * Wall time of `npm start` end to end, run as a child process from the repository root (stdout is
 * a pipe, so the command runs quiet). Labelled with what `start` is today (package.json). When it
 * is `edgedistill run` (the full pipeline), it gets `--out <scratch> --json` so it does not write
 * into the checkout's out/ (which someone else's run may be using) and its per-stage times are kept.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, runChild, type BenchContext } from './util.js';

export async function benchNpmStart(ctx: BenchContext): Promise<Record<string, unknown>> {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  const script = pkg.scripts?.start ?? null;
  if (!script) return { skipped: 'package.json has no start script' };
  const timeoutSeconds = ctx.quick ? 600 : 3600;
  const isRun = /^edgedistill run\b/.test(script);
  const extra = isRun ? ['--', '--out', join(ctx.workDir, 'npm-start-out'), '--json'] : [];
  ctx.log(`  npm start ${extra.join(' ')} (${script})`);
  const r = await runChild('npm', ['start', ...extra], { cwd: REPO_ROOT, env: { ...process.env, CI: '1' }, timeoutSeconds });
  let summary: unknown = undefined;
  if (isRun) {
    try {
      summary = JSON.parse(r.stdout.slice(r.stdout.indexOf('{')));
    } catch {
      summary = null;
    }
  }
  const tail = (s: string) => s.trim().split('\n').slice(-5);
  return {
    command: ['npm start', ...extra].join(' '),
    script,
    label: `npm start = \`${script}\``,
    wallSeconds: r.seconds,
    exitCode: r.code,
    signal: r.signal,
    timedOut: r.timedOut,
    ok: r.code === 0 && !r.timedOut,
    stdoutTail: isRun && summary ? undefined : tail(r.stdout),
    summary,
    stderrTail: r.code === 0 ? undefined : tail(r.stderr),
  };
}
