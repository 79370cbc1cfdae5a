/**
 * pipeline/src/util/safe-tar.ts on honest archives: what `edgedistill bundle` writes, and what GNU
 * tar writes (ustar, GNU long names, pax headers, symlinks inside the tree, hardlinks), read and
 * extracted exactly. The hostile archives are in the bad-input corpus (bad-inputs.test.ts).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EdgeDistillError } from '../../runtime/src/errors.js';
import { writeTarGz } from '../../pipeline/src/bundle/index.js';
import { entryPathProblem, extractSafe, listTree, readSafeTar, readSafeTarGz } from '../../pipeline/src/util/safe-tar.js';

const ROOT = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'edgedistill-safe-tar-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function refusal(fn: () => unknown): EdgeDistillError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(EdgeDistillError);
    return e as EdgeDistillError;
  }
  throw new Error('expected a refusal');
}

describe('safe-tar reads honest archives', () => {
  it("the bundle writer's .tar.gz: every file, byte for byte, and it extracts to the same tree", () => {
    const files = { 'manifest.json': '{"format":"x"}\n', 'artifacts/policy.mjs': 'export const x = 1;\n', 'runtime/node_modules/a/b/c.js': 'x'.repeat(5000) };
    const gz = writeTarGz(Object.entries(files).map(([path, s]) => ({ path, type: 'file' as const, data: Buffer.from(s) })));
    const entries = readSafeTarGz(gz, 'bundle.tar.gz');
    const got = Object.fromEntries(entries.filter((e) => e.type === 'file').map((e) => [e.path, e.data.toString()]));
    expect(got).toEqual(files);
    const dest = join(dir, 'bundle');
    extractSafe(entries, dest);
    for (const [p, s] of Object.entries(files)) expect(readFileSync(join(dest, p), 'utf8')).toBe(s);
    expect(listTree(dest)).toEqual(['artifacts', 'artifacts/policy.mjs', 'manifest.json', 'runtime', 'runtime/node_modules', 'runtime/node_modules/a', 'runtime/node_modules/a/b', 'runtime/node_modules/a/b/c.js']);
  });

  it('GNU tar (gnu and pax formats): long names, a symlink inside the tree, a hardlink, ./ prefixes', () => {
    const src = join(dir, 'src');
    const long = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(70)}.txt`;
    mkdirSync(join(src, long, '..'), { recursive: true });
    writeFileSync(join(src, long), 'long name\n');
    writeFileSync(join(src, 'a.txt'), 'aaa\n');
    mkdirSync(join(src, 'lib'));
    symlinkSync('../a.txt', join(src, 'lib', 'link-to-a'));
    execFileSync('ln', [join(src, 'a.txt'), join(src, 'hard.txt')]);
    for (const format of ['gnu', 'pax']) {
      const gz = join(dir, `gnu-${format}.tar.gz`);
      execFileSync('tar', ['-czf', gz, `--format=${format}`, '-C', src, '.']);
      const entries = readSafeTarGz(readFileSync(gz), gz);
      const byPath = new Map(entries.map((e) => [e.path, e]));
      expect(byPath.get(long)?.data.toString()).toBe('long name\n');
      expect(byPath.get('lib/link-to-a')).toMatchObject({ type: 'symlink', linkTarget: '../a.txt' });
      expect(byPath.get('hard.txt')?.data.toString() ?? byPath.get('a.txt')?.data.toString()).toBe('aaa\n');
      const dest = join(dir, `out-${format}`);
      extractSafe(entries, dest);
      expect(readFileSync(join(dest, long), 'utf8')).toBe('long name\n');
      expect(lstatSync(join(dest, 'lib/link-to-a')).isSymbolicLink()).toBe(true);
      expect(readlinkSync(join(dest, 'lib/link-to-a'))).toBe('../a.txt');
      expect(readFileSync(join(dest, 'lib/link-to-a'), 'utf8')).toBe('aaa\n');
      expect(readFileSync(join(dest, 'hard.txt'), 'utf8')).toBe('aaa\n');
    }
  });

  it('symlinks can be refused altogether (allowSymlinks: false)', () => {
    const gz = readFileSync(join(dir, 'gnu-gnu.tar.gz'));
    expect(refusal(() => readSafeTarGz(gz, 'x.tar.gz', { allowSymlinks: false }))).toMatchObject({ code: 'BAD_CONFIG', field: expect.stringContaining('link-to-a') });
  });
});

describe('safe-tar limits', () => {
  it('refuses more entries than maxEntries, and a tar larger than maxBytes', () => {
    const gz = writeTarGz(Array.from({ length: 20 }, (_, i) => ({ path: `f${i}`, type: 'file' as const, data: Buffer.from('x') })));
    expect(refusal(() => readSafeTarGz(gz, 'many.tar.gz', { maxEntries: 10 })).message).toMatch(/more than 10 entries/);
    expect(refusal(() => readSafeTarGz(gz, 'big.tar.gz', { maxBytes: 4096 })).message).toMatch(/more than 4096 bytes|zip bomb/);
  });

  it('a header whose checksum does not match, and a tar cut inside an entry', () => {
    const tar = Buffer.from(execFileSync('tar', ['-cf', '-', '-C', join(ROOT, 'test/fixtures/bad'), 'index.json']));
    const damaged = Buffer.from(tar);
    damaged[10] ^= 1;
    expect(refusal(() => readSafeTar(damaged, 'damaged.tar')).message).toMatch(/checksum mismatch/);
    expect(refusal(() => readSafeTar(tar.subarray(0, 1024), 'cut.tar')).message).toMatch(/truncated/);
  });

  it('entry paths: what is refused and how ./ prefixes normalize', () => {
    expect(entryPathProblem('./a/b/')).toEqual({ path: 'a/b' });
    expect(entryPathProblem('./')).toEqual({ path: '' });
    for (const p of ['../x', 'a/../../x', '/etc/passwd', 'C:/x', 'a\\b', 'a//b', 'a/./b', 'a\0b']) {
      expect('problem' in entryPathProblem(p), p).toBe(true);
    }
  });

  it('extractSafe writes nothing under the destination name when it cannot finish', () => {
    const dest = join(dir, 'exists');
    mkdirSync(dest);
    const entries = readSafeTarGz(writeTarGz([{ path: 'a', type: 'file', data: Buffer.from('x') }]), 'a.tar.gz');
    expect(refusal(() => extractSafe(entries, dest)).code).toBe('IO');
    expect(listTree(dest)).toEqual([]);
    expect(existsSync(join(dir, 'exists', 'a'))).toBe(false);
  });
});
