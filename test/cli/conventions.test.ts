/**
 * CLI conventions, for every command `edgedistill --help` lists (and their subcommands): --help
 * exits 0 with an example and the exit codes, commands that do work take --json and --quiet, and
 * an unknown option is bad input (exit 2). Command modules import their work lazily (so `edgedistill --help` stays fast).
 * The command list is discovered from the help output, so a new command is checked without
 * touching this file.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../..');
const cli = join(repo, 'pipeline/bin/edgedistill.js');

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[]): Promise<Ran> {
  return new Promise((done) => {
    execFile(process.execPath, [cli, ...args], { cwd: repo, env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code as number) : -1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

/** Runs `f` over `items`, `limit` at a time (the machine has 2 cores). */
async function pool<T, R>(items: readonly T[], limit: number, f: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await f(items[i]);
      }
    }),
  );
  return out;
}

/** Command names from a commander help text's "Commands:" block (without `help`). */
function commandsIn(help: string): string[] {
  const block = help.split(/^Commands:\s*$/m)[1];
  if (!block) return [];
  const names: string[] = [];
  for (const line of block.split('\n')) {
    if (/^\S/.test(line)) break; // the block ends at the next unindented line
    const m = /^ {2}([a-z][a-z0-9-]*)(?=[ \n[<]|$)/.exec(line);
    if (m && m[1] !== 'help') names.push(m[1]);
  }
  return names;
}

interface Cmd {
  path: string[];
  help: Ran;
  /** Has subcommands of its own (a group like `envs`): it does no work itself. */
  group: boolean;
}

const commands: Cmd[] = [];
let rootHelp: Ran;

beforeAll(async () => {
  rootHelp = await run(['--help']);
  let frontier = commandsIn(rootHelp.stdout).map((c) => [c]);
  while (frontier.length > 0) {
    const helps = await pool(frontier, 3, (p) => run([...p, '--help']));
    const nextLevel: string[][] = [];
    frontier.forEach((p, i) => {
      const subs = commandsIn(helps[i].stdout);
      commands.push({ path: p, help: helps[i], group: subs.length > 0 });
      for (const s of subs) nextLevel.push([...p, s]);
    });
    frontier = nextLevel;
  }
}, 180_000);

describe('edgedistill --help', () => {
  it('lists the commands, with an example and the exit codes', () => {
    expect(rootHelp.code).toBe(0);
    const names = commands.filter((c) => c.path.length === 1).map((c) => c.path[0]);
    // The main job and every stage of the pipeline are there.
    for (const n of ['run', 'train', 'distill', 'compress', 'export', 'bundle', 'flash', 'check', 'report']) expect(names).toContain(n);
    expect(rootHelp.stdout).toMatch(/^Example:/m);
    expect(rootHelp.stdout).toMatch(/Exit codes: 0 ok, 1 .*2 bad input/s);
  });

  it('finds subcommands too (envs list, envs verify)', () => {
    expect(commands.map((c) => c.path.join(' '))).toEqual(expect.arrayContaining(['envs', 'envs list', 'envs verify']));
  });
});

describe('every command', () => {
  it('has --help that exits 0 with an Example', () => {
    const bad = commands.filter((c) => c.help.code !== 0 || !/^Examples?:\s*\n\s+\$ edgedistill /m.test(c.help.stdout)).map((c) => c.path.join(' '));
    expect(bad).toEqual([]);
    expect(commands.length).toBeGreaterThanOrEqual(13);
  });

  it('says its exit codes in --help', () => {
    expect(commands.filter((c) => !/^Exit codes: 0 /m.test(c.help.stdout)).map((c) => c.path.join(' '))).toEqual([]);
  });

  it('takes --json and --quiet (commands that do work; groups only hold subcommands)', () => {
    const leaves = commands.filter((c) => !c.group);
    const missing = leaves.flatMap((c) => ['--json', '--quiet'].filter((f) => !new RegExp(`^\\s+${f}\\b`, 'm').test(c.help.stdout)).map((f) => `${c.path.join(' ')} ${f}`));
    expect(missing).toEqual([]);
  });

  it('exits 2 (bad input) on an unknown option, naming it', async () => {
    // Required options are checked first: give them a value until the unknown option is what fails.
    const results = await pool(commands, 3, async (c) => {
      const extra: string[] = [];
      for (let attempt = 0; attempt < 6; attempt++) {
        const r = await run([...c.path, ...extra, '--no-such-option']);
        const req = /required option '(--[a-z-]+)/.exec(r.stderr);
        if (!req) return { cmd: c.path.join(' '), code: r.code, named: r.stderr.includes("unknown option '--no-such-option'") };
        extra.push(req[1], 'x');
      }
      return { cmd: c.path.join(' '), code: -1, named: false };
    });
    expect(results.filter((r) => r.code !== 2 || !r.named)).toEqual([]);
  }, 180_000);
});

describe('command modules', () => {
  it('import only the CLI helpers at the top; the work is imported inside the action', () => {
    const dir = join(repo, 'pipeline/src/cli/commands');
    const allowed = [/^commander$/, /^node:/, /^@edgedistill\/runtime\/errors$/, /^\.\.\/(shared|exit-codes|progress)\.js$/, /^\.\/[a-z-]+\.js$/];
    const offending: string[] = [];
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
      const src = readFileSync(join(dir, f), 'utf8');
      for (const m of src.matchAll(/^import\s+(type\s+)?[^'"]*from\s+'([^']+)'/gm)) {
        if (m[1]) continue; // type-only: erased
        if (!allowed.some((re) => re.test(m[2]))) offending.push(`${f}: ${m[2]}`);
      }
    }
    expect(offending).toEqual([]);
  });

  it('main.ts registers every command module', () => {
    const main = readFileSync(join(repo, 'pipeline/src/cli/main.ts'), 'utf8');
    const files = readdirSync(join(repo, 'pipeline/src/cli/commands'))
      .filter((n) => n.endsWith('.ts'))
      .map((n) => n.slice(0, -3));
    expect(files.filter((f) => !main.includes(`'./commands/${f}.js'`))).toEqual([]);
  });
});
