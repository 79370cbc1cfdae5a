import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { DEVICES, checkReport, writeRunDir } from './fixtures.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', '..', 'pipeline', 'bin', 'edgedistill.js');
const made: string[] = [];
const tmp = (p: string) => {
  const d = mkdtempSync(join(tmpdir(), p));
  made.push(d);
  return d;
};
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('edgedistill report', () => {
  it('--help shows the flags and an example', async () => {
    const r = await cli(['report', '--help']);
    expect(r.code).toBe(0);
    for (const s of ['--dir <out>', '--add <file>', '--open-path', '--json', '--quiet', 'Example:', 'edgedistill report --dir']) expect(r.stdout).toContain(s);
  });

  it('builds the report, merges --add check reports, prints JSON and the path to open', async () => {
    const dir = tmp('ed-report-cli-');
    writeRunDir(dir);
    const orin = join(dir, 'orin.json');
    writeFileSync(orin, JSON.stringify(checkReport(DEVICES[1])));

    const human = await cli(['report', '--dir', dir]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('13/13 budgets passed');
    expect(human.stdout).toContain(`wrote ${join(dir, 'report.html')}`);
    expect(existsSync(join(dir, 'report.json'))).toBe(true);

    const json = await cli(['report', '--dir', dir, '--add', orin, '--json']);
    expect(json.code).toBe(0);
    const out = JSON.parse(json.stdout) as { html: string; devices: string[]; budgets: { passed: number; total: number } };
    expect(out.devices).toEqual(['rpi4-arm64@rpi4-lab', 'jetson-orin-nano@orin-01']);
    expect(out.budgets).toEqual({ passed: 24, total: 26 });
    expect(readFileSync(out.html, 'utf8')).toContain('orin-01');

    const open = await cli(['report', '--dir', dir, '--open-path']);
    expect(open.code).toBe(0);
    expect(open.stdout.trim()).toBe(resolve(dir, 'report.html'));
  });

  it('exits 2 naming the file for an --add it does not know, and for a missing directory', async () => {
    const dir = tmp('ed-report-cli-bad-');
    const junk = join(dir, 'junk.json');
    writeFileSync(junk, '[1, 2, 3]');
    const r = await cli(['report', '--dir', dir, '--add', junk, '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: 'BAD_ARGUMENT', file: junk, field: '--add' });
    const m = await cli(['report', '--dir', join(dir, 'missing')]);
    expect(m.code).toBe(2);
    expect(m.stderr).toContain('not a directory');
  });
});
