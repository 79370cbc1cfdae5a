import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { encodeNpy, parseNpy } from '../../pipeline/src/distill/npy.js';
import { parseCsv, parseJsonl, readObservations } from '../../pipeline/src/distill/observations.js';

const dir = mkdtempSync(join(tmpdir(), 'distill-obs-'));

/** A .npy file built byte by byte (not with our encoder), for the reader's own test. */
function handNpy(descr: string, shape: string, fortran: boolean, body: Buffer): Buffer {
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shape}, }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(pre);
  pre.writeUInt16LE(header.length, 8);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), body]);
}

describe('.npy reader', () => {
  it('reads little-endian float32 2-D', () => {
    const body = Buffer.alloc(6 * 4);
    [1, 2, 3, 4, 5, 6].forEach((v, i) => body.writeFloatLE(v + 0.5, i * 4));
    const m = parseNpy(handNpy('<f4', '(2, 3)', false, body));
    expect(m.rows).toBe(2);
    expect(m.cols).toBe(3);
    expect(Array.from(m.data)).toEqual([1.5, 2.5, 3.5, 4.5, 5.5, 6.5]);
  });
  it('reads big-endian float64 and Fortran order', () => {
    const body = Buffer.alloc(4 * 8);
    // Fortran order: column by column of [[1, 2], [3, 4]] -> 1, 3, 2, 4
    [1, 3, 2, 4].forEach((v, i) => body.writeDoubleBE(v, i * 8));
    const m = parseNpy(handNpy('>f8', '(2, 2)', true, body));
    expect(Array.from(m.data)).toEqual([1, 2, 3, 4]);
  });
  it('round-trips through encodeNpy (float32 and float64)', () => {
    const data = Float32Array.from([0.1, -2, 3.25, 4, 5, 6e-3]);
    for (const dtype of ['float32', 'float64'] as const) {
      const m = parseNpy(encodeNpy({ rows: 3, cols: 2, data }, dtype));
      expect([m.rows, m.cols]).toEqual([3, 2]);
      expect(Array.from(m.data)).toEqual(Array.from(data));
    }
  });
  it('rejects other dtypes, 1-D arrays, truncated data and non-npy bytes, naming the field', () => {
    expect(() => parseNpy(handNpy('<i8', '(1, 1)', false, Buffer.alloc(8)), 'x.npy')).toThrow(/dtype <i8 is not supported/);
    expect(() => parseNpy(handNpy('<f4', '(3,)', false, Buffer.alloc(12)), 'x.npy')).toThrow(/2-D/);
    expect(() => parseNpy(handNpy('<f4', '(3, 2)', false, Buffer.alloc(12)), 'x.npy')).toThrow(/needs 24/);
    try {
      parseNpy(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), 'bad.npy');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(EdgeDistillError);
      expect((e as EdgeDistillError).file).toBe('bad.npy');
      expect((e as EdgeDistillError).field).toBe('magic');
    }
  });
});

describe('JSONL and CSV', () => {
  it('JSONL takes arrays or {obs: [...]} per line, skipping blank lines', () => {
    const m = parseJsonl('[1, 2]\n\n{"obs": [3, 4], "t": 1}\n[5,6]\n');
    expect([m.rows, m.cols]).toEqual([3, 2]);
    expect(Array.from(m.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });
  it('JSONL errors name the line', () => {
    expect(() => parseJsonl('[1, 2]\n[3]\n', 'o.jsonl')).toThrow(/line 2: 1 values, earlier lines have 2/);
    expect(() => parseJsonl('[1, 2]\n[3, null]\n', 'o.jsonl')).toThrow(/line 2, value 1/);
    expect(() => parseJsonl('nope\n', 'o.jsonl')).toThrow(/line 1 is not JSON/);
  });
  it('CSV with and without a header', () => {
    expect(Array.from(parseCsv('x,x_dot,theta,theta_dot\n0.1,0.2,0.3,0.4\n1,2,3,4\n').data)).toEqual(Array.from(Float32Array.from([0.1, 0.2, 0.3, 0.4, 1, 2, 3, 4])));
    const m = parseCsv('1,2\r\n3,4\r\n');
    expect([m.rows, m.cols]).toEqual([2, 2]);
    expect(() => parseCsv('a,b\n1,2\n3,x\n', 'o.csv')).toThrow(/line 3, value 1/);
  });
  it('readObservations picks the format by extension', async () => {
    writeFileSync(join(dir, 'o.jsonl'), '[1,2,3]\n[4,5,6]\n');
    writeFileSync(join(dir, 'o.csv'), 'a,b,c\n1,2,3\n');
    writeFileSync(join(dir, 'o.npy'), encodeNpy({ rows: 1, cols: 3, data: Float32Array.from([7, 8, 9]) }));
    writeFileSync(join(dir, 'o.txt'), '1 2 3');
    expect((await readObservations(join(dir, 'o.jsonl'))).rows).toBe(2);
    expect((await readObservations(join(dir, 'o.csv'))).cols).toBe(3);
    expect(Array.from((await readObservations(join(dir, 'o.npy'))).data)).toEqual([7, 8, 9]);
    await expect(readObservations(join(dir, 'o.txt'))).rejects.toThrow(/unknown observations format/);
    await expect(readObservations(join(dir, 'missing.csv'))).rejects.toThrow(/cannot read observations/);
  });
});
