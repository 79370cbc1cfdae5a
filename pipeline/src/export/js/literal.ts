/**
 * Constants as JavaScript / C source text: numbers that round-trip exactly (float32 values are
 * doubles too, and the shortest double text parses back to the same value), Infinity where JSON
 * has none, and base64 of little-endian bytes for weight arrays (about 1.33 bytes of source per
 * int8 weight).
 */

/** A number as JS source: shortest round-trip text, `Infinity` / `-Infinity` / `NaN` spelled out. */
export function jsNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  return Object.is(v, -0) ? '-0' : String(v);
}

/** Any JSON-like value (typed arrays become arrays) as a JS expression. */
export function jsLiteral(v: unknown): string {
  if (typeof v === 'number') return jsNumber(v);
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return jsLiteral(Array.from(v as unknown as ArrayLike<number>));
  if (Array.isArray(v)) return `[${v.map(jsLiteral).join(', ')}]`;
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    const key = (k: string) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k));
    return `{ ${entries.map(([k, x]) => `${key(k)}: ${jsLiteral(x)}`).join(', ')} }`;
  }
  return 'null';
}

export function base64Int8(a: Int8Array | ArrayLike<number>): string {
  return Buffer.from(Int8Array.from(a as ArrayLike<number>).buffer).toString('base64');
}

export function base64Float32(a: ArrayLike<number>): string {
  const buf = Buffer.alloc(a.length * 4);
  for (let i = 0; i < a.length; i++) buf.writeFloatLE(a[i], i * 4);
  return buf.toString('base64');
}

/**
 * The base64 decoder every module carries (no atob: some embedded JS engines lack it). `B(s)`
 * gives the bytes, `I8(s)` int8 values and `F32(s)` little-endian float32 values, both as
 * Float64Array (the hot loops then do exact double arithmetic with no conversions).
 */
export const DECODERS = `const A64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
function B(s) {
  const u = new Uint8Array((s.length >> 2) * 3 - (s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0));
  for (let i = 0, j = 0; i < s.length; i += 4) {
    let v = 0;
    for (let k = 0; k < 4; k++) v = (v << 6) | (A64.indexOf(s[i + k]) & 63);
    for (let k = 16; k >= 0 && j < u.length; k -= 8) u[j++] = v >> k;
  }
  return u;
}
const I8 = (s) => Float64Array.from(new Int8Array(B(s).buffer));
function F32(s) {
  const d = new DataView(B(s).buffer), a = new Float64Array(d.byteLength >> 2);
  for (let i = 0; i < a.length; i++) a[i] = d.getFloat32(4 * i, true);
  return a;
}`;
