import { describe, expect, it } from 'vitest';
import { esc, formatBytes, formatDate, formatError, formatNumber, formatPct, formatUs, shortHash, trimZeros } from '../../pipeline/src/report/format.js';

describe('format', () => {
  it('escapes the five HTML specials', () => {
    expect(esc(`<script>alert("x")</script> & 'y'`)).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;');
    expect(esc(null)).toBe('');
  });
  it('bytes in binary units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1.00 KiB');
    expect(formatBytes(272525)).toBe('266 KiB');
    expect(formatBytes(19312)).toBe('18.9 KiB');
    expect(formatBytes(3 * 1048576)).toBe('3.00 MiB');
    expect(formatBytes(null)).toBe('–');
  });
  it('microseconds in ns, µs, ms, s', () => {
    expect(formatUs(0.631)).toBe('631 ns');
    expect(formatUs(3.214)).toBe('3.21 µs');
    expect(formatUs(96.44)).toBe('96.4 µs');
    expect(formatUs(2000)).toBe('2.00 ms');
    expect(formatUs(8183.842)).toBe('8.18 ms');
    expect(formatUs(2.5e6)).toBe('2.50 s');
  });
  it('percentages: one decimal, more where rounding would say 100%', () => {
    expect(formatPct(0.991)).toBe('99.1%');
    expect(formatPct(0.97341)).toBe('97.3%');
    expect(formatPct(0.99961)).toBe('99.96%');
    expect(formatPct(1)).toBe('100.0%');
    expect(formatPct(0.0000123)).toBe('0.001%');
    expect(formatPct(0.5, 0)).toBe('50%');
    expect(formatPct(null)).toBe('–');
  });
  it('numbers, errors, hashes, dates', () => {
    expect(formatNumber(67586)).toBe('67,586');
    expect(formatNumber(3.1)).toBe('3.1');
    expect(formatError(2.4e-7)).toBe('2.4e-7');
    expect(formatError(0.0123)).toBe('0.0123');
    expect(formatError(Infinity)).toBe('∞');
    expect(shortHash('4818627d5a47228cb9c90204d5d978e6888ea136b4ddbb2dc53ef55845a24047')).toBe('4818627d5a47');
    expect(formatDate('2026-11-27T19:07:54.325Z')).toBe('2026-11-27 19:07 UTC');
    expect(trimZeros('1.00 µs')).toBe('1 µs');
    expect(trimZeros('2.50 ms')).toBe('2.5 ms');
    expect(trimZeros('100 µs')).toBe('100 µs');
  });
});
