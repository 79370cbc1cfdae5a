/**
 * The deterministic ustar writer: same entries -> same bytes whatever their order; fixed owner,
 * modes and mtime; a gzip header that never varies; and archives GNU tar reads as we meant.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { archiveMtime, gzipDeterministic, readTar, readTarGz, writeTar, writeTarGz, type TarEntry } from '../../pipeline/src/bundle/tar.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const file = (path: string, text: string): TarEntry => ({ path, type: 'file', data: Buffer.from(text) });

describe('ustar writer', () => {
  const entries = [file('runtime/node_modules/a/b.js', 'b'), file('manifest.json', '{}\n'), file('artifacts/x.onnx', 'x'.repeat(700))];

  it('writes the same bytes for the same entries in any order, parents first', () => {
    const a = writeTar(entries, 0);
    const b = writeTar([...entries].reverse(), 0);
    expect(sha(a)).toBe(sha(b));
    expect(a.length % 512).toBe(0);
    const got = readTar(a);
    expect(got.map((e) => `${e.type}:${e.path}`)).toEqual([
      'dir:artifacts',
      'file:artifacts/x.onnx',
      'file:manifest.json',
      'dir:runtime',
      'dir:runtime/node_modules',
      'dir:runtime/node_modules/a',
      'file:runtime/node_modules/a/b.js',
    ]);
    for (const e of got) {
      expect([e.uid, e.gid, e.uname, e.gname, e.mtime]).toEqual([0, 0, '', '', 0]);
      expect(e.mode).toBe(e.type === 'dir' ? 0o755 : 0o644);
    }
    expect(got[1].data.toString()).toBe('x'.repeat(700));
  });

  it('takes the mtime from SOURCE_DATE_EPOCH and nothing else', () => {
    expect(archiveMtime({})).toBe(0);
    expect(archiveMtime({ SOURCE_DATE_EPOCH: '1700000000' })).toBe(1700000000);
    expect(() => archiveMtime({ SOURCE_DATE_EPOCH: 'yesterday' })).toThrow(EdgeDistillError);
    expect(readTar(writeTar(entries, 1700000000)).every((e) => e.mtime === 1700000000)).toBe(true);
  });

  it('gzips with a fixed header (MTIME 0, XFL 2, OS 3) and reads back', () => {
    const gz = writeTarGz(entries, 0);
    expect([...gz.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3]);
    expect(sha(gz)).toBe(sha(writeTarGz([...entries].reverse(), 0)));
    expect(readTarGz(gz).filter((e) => e.type === 'file').map((e) => e.path)).toEqual(['artifacts/x.onnx', 'manifest.json', 'runtime/node_modules/a/b.js']);
    expect([...gzipDeterministic(Buffer.from('abc')).subarray(4, 10)]).toEqual([0, 0, 0, 0, 2, 3]);
  });

  it('splits long paths into ustar prefix and name', () => {
    const long = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(50)}.bin`;
    const got = readTar(writeTar([file(long, 'z')], 0)).find((e) => e.type === 'file');
    expect(got?.path).toBe(long);
  });

  it('refuses unsafe or duplicate paths', () => {
    for (const p of ['../x', '/abs', 'a//b', 'a/./b']) expect(() => writeTar([file(p, '')], 0)).toThrow(/bad archive path/);
    expect(() => writeTar([file('a', '1'), file('a', '2')], 0)).toThrow(/duplicate archive path 'a'/);
  });

  it('is read by GNU tar with owner 0/0, fixed modes and the contents we wrote', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tar-test-'));
    const archive = join(dir, 'b.tar.gz');
    writeFileSync(archive, writeTarGz(entries, 0));
    const listing = execFileSync('tar', ['-tvzf', archive, '--numeric-owner'], { encoding: 'utf8' }).trim().split('\n');
    expect(listing).toHaveLength(7);
    expect(listing[0]).toMatch(/^drwxr-xr-x 0\/0 +0 1970-01-01 00:00 artifacts\/$/);
    expect(listing[1]).toMatch(/^-rw-r--r-- 0\/0 +700 1970-01-01 00:00 artifacts\/x\.onnx$/);
    const out = join(dir, 'x');
    execFileSync('mkdir', [out]);
    execFileSync('tar', ['-xzf', archive, '-C', out]);
    expect(readFileSync(join(out, 'runtime/node_modules/a/b.js'), 'utf8')).toBe('b');
    expect(statSync(join(out, 'manifest.json')).mode & 0o777).toBe(0o644);
  });

  it('detects a corrupted header', () => {
    const t = writeTar([file('a', 'hello')], 0);
    t[10] ^= 0xff;
    expect(() => readTar(t)).toThrow(/checksum mismatch/);
  });
});
