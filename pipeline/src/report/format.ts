/** Escaping and number formatting for the HTML report. Pure; every string shown goes through esc(). */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const isNum = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

/** Placeholder for a missing figure. */
export const DASH = '–';

/** Bytes in B, KiB, MiB, GiB (binary units, as `ls -lh`); three significant digits. */
export function formatBytes(bytes: number | null | undefined): string {
  if (!isNum(bytes)) return DASH;
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = bytes;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${units[u]}`;
}

/** A duration given in microseconds: ns below 1 us, us below 1 ms, then ms and s. */
export function formatUs(us: number | null | undefined): string {
  if (!isNum(us)) return DASH;
  const a = Math.abs(us);
  if (a === 0) return '0 µs';
  if (a < 1) return `${sig(us * 1000)} ns`;
  if (a < 1000) return `${sig(us)} µs`;
  if (a < 1e6) return `${sig(us / 1000)} ms`;
  return `${sig(us / 1e6)} s`;
}

/** Three significant digits without exponent noise: 1.23, 12.3, 123, 1234. */
export function sig(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return DASH;
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 10 ** digits) return Math.round(v).toLocaleString('en-US');
  const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(a)));
  return v.toFixed(Math.min(decimals, 6));
}

/** A share (0..1) as a percentage; more decimals near 100% where the difference matters. */
export function formatPct(share: number | null | undefined, decimals?: number): string {
  if (!isNum(share)) return DASH;
  const p = share * 100;
  if (decimals !== undefined) return `${p.toFixed(decimals)}%`;
  // One decimal, more only where rounding would claim 100% (or 0%) for what is not.
  let d = 1;
  while (d < 4 && ((p < 100 && p.toFixed(d) === '100.' + '0'.repeat(d)) || (p > 0 && Number(p.toFixed(d)) === 0))) d++;
  return `${p.toFixed(d)}%`;
}

/** Integers with thousands separators; other numbers with three significant digits. */
export function formatNumber(v: number | null | undefined): string {
  if (!isNum(v)) return DASH;
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return trimZeros(sig(v));
}

/** Small errors in exponent form (1.2e-7), 0 as 0. */
export function formatError(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return DASH;
  if (!Number.isFinite(v)) return '∞';
  if (v === 0) return '0';
  return Math.abs(v) < 1e-3 || Math.abs(v) >= 1e4 ? v.toExponential(1) : sig(v);
}

/** Compact axis label: 1.5k, 20k, 1.2M. */
export function formatCompact(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${trim(v / 1e9)}G`;
  if (a >= 1e6) return `${trim(v / 1e6)}M`;
  if (a >= 1e3) return `${trim(v / 1e3)}k`;
  if (a === 0) return '0';
  if (a < 1e-3) return v.toExponential(0);
  return trim(v);
}

function trim(v: number): string {
  return String(Number(v.toPrecision(3)));
}

/** First 12 hex digits of a sha256, as git shows commits. */
export function shortHash(sha: string | null | undefined): string {
  return sha ? sha.slice(0, 12) : DASH;
}

/** Drops zeros after the decimal point of every number in a label: "1.00 µs" -> "1 µs", "2.50 ms" -> "2.5 ms". */
export function trimZeros(label: string): string {
  return label.replace(/(\d)\.(\d*?)0+(?!\d)/g, (_m, a: string, b: string) => (b ? `${a}.${b}` : a));
}

/** An ISO date as "2026-11-27 19:07 UTC"; other strings unchanged. */
export function formatDate(iso: string | null | undefined): string {
  if (!iso) return DASH;
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?Z$/.exec(iso);
  return m ? `${m[1]} ${m[2]} UTC` : iso;
}
