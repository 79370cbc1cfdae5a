/**
 * A small reader for NumPy .npy files (format versions 1-3): 2-D float32 or float64 arrays, either
 * byte order, C or Fortran order. Returns row-major float32.
 */
import { EdgeDistillError } from '@edgedistill/runtime/errors';

export interface Matrix {
  rows: number;
  cols: number;
  /** Row-major, rows * cols values. */
  data: Float32Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export function parseNpy(bytes: Uint8Array, file = '<npy>'): Matrix {
  const bad = (msg: string, field = 'header'): never => {
    throw new EdgeDistillError('BAD_ARGUMENT', msg, { file, field });
  };
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) bad('not a .npy file (no \\x93NUMPY magic)', 'magic');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let off: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    off = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) bad('truncated .npy header');
    headerLen = view.getUint32(8, true);
    off = 12;
  } else {
    return bad(`unsupported .npy format version ${major}`, 'version');
  }
  if (off + headerLen > bytes.length) bad('truncated .npy header');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(off, off + headerLen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) bad(`cannot parse .npy header ${JSON.stringify(header.trim())}`);
  const shape = shapeText!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (shape.length !== 2 || shape.some((n) => !Number.isInteger(n) || n < 0)) {
    bad(`expected a 2-D array (states x observation values), got shape (${shapeText})`, 'shape');
  }
  const [rows, cols] = shape;
  const m = /^([<>|=])f([48])$/.exec(descr!);
  if (!m) bad(`dtype ${descr} is not supported: save float32 or float64 (e.g. arr.astype(np.float32))`, 'descr');
  const little = m![1] !== '>';
  const size = Number(m![2]);
  const dataOff = off + headerLen;
  const n = rows * cols;
  if (bytes.length < dataOff + n * size) bad(`file holds ${bytes.length - dataOff} data bytes, shape (${rows}, ${cols}) needs ${n * size}`, 'data');
  const data = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    const v = size === 4 ? view.getFloat32(dataOff + k * 4, little) : view.getFloat64(dataOff + k * 8, little);
    // Fortran order stores column by column.
    const dst = fortran === 'True' ? (k % rows) * cols + Math.floor(k / rows) : k;
    data[dst] = v;
  }
  return { rows, cols, data };
}

/** Encodes a row-major float32 matrix as a version-1 .npy file (tests and tools write fixtures with it). */
export function encodeNpy(m: Matrix, dtype: 'float32' | 'float64' = 'float32'): Uint8Array {
  const descr = dtype === 'float32' ? '<f4' : '<f8';
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${m.rows}, ${m.cols}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const size = dtype === 'float32' ? 4 : 8;
  const out = new Uint8Array(10 + header.length + m.data.length * size);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  const view = new DataView(out.buffer);
  view.setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const off = 10 + header.length;
  for (let k = 0; k < m.data.length; k++) {
    if (size === 4) view.setFloat32(off + k * 4, m.data[k], true);
    else view.setFloat64(off + k * 8, m.data[k], true);
  }
  return out;
}
