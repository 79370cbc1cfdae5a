import { describe, expect, it } from 'vitest';
import { binaryTicks, logTicks, niceNumber, niceTicks, scaleLinear, scaleLog, wantsLog } from '../../pipeline/src/report/scale.js';

describe('niceNumber', () => {
  it('rounds to 1, 2, 5 or 10 times a power of ten', () => {
    expect(niceNumber(0.97, true)).toBe(1);
    expect(niceNumber(2.4, true)).toBe(2);
    expect(niceNumber(3.2, true)).toBe(5);
    expect(niceNumber(7.5, true)).toBe(10);
    expect(niceNumber(97, false)).toBe(100);
    expect(niceNumber(0.151, false)).toBeCloseTo(0.2, 12);
    expect(niceNumber(2000, false)).toBe(2000);
  });
});

describe('niceTicks', () => {
  it('covers 0..97 with steps of 20 up to 100', () => {
    expect(niceTicks(0, 97, 5)).toEqual({ min: 0, max: 100, step: 20, ticks: [0, 20, 40, 60, 80, 100] });
  });
  it('covers agreement 0.84..0.991 in steps of 0.05 without float noise', () => {
    const t = niceTicks(0.84275, 0.991, 5);
    expect(t.ticks).toEqual([0.8, 0.85, 0.9, 0.95, 1]);
    expect(t.min).toBe(0.8);
    expect(t.max).toBe(1);
  });
  it('handles negative returns (Pendulum) and a reversed range', () => {
    expect(niceTicks(-150, -1230, 5).ticks).toEqual([-1500, -1000, -500, 0]);
  });
  it('widens a zero span around the value', () => {
    expect(niceTicks(500, 500, 5).ticks).toEqual([440, 460, 480, 500, 520, 540, 560]); // 500 ± 10%, steps of 20
    expect(niceTicks(0, 0, 5).ticks).toEqual([-1, -0.5, 0, 0.5, 1]);
  });
  it('0..0.3 in tenths gives 0.3, not 0.30000000000000004', () => {
    expect(niceTicks(0, 0.3, 5).ticks).toEqual([0, 0.1, 0.2, 0.3]);
  });
});

describe('logTicks', () => {
  it('uses 1-2-5 ticks over up to three decades, domain snapped to them', () => {
    expect(logTicks(3.21, 912.3)).toEqual({ min: 2, max: 1000, ticks: [2, 5, 10, 20, 50, 100, 200, 500, 1000] });
    expect(logTicks(12, 40)).toEqual({ min: 10, max: 50, ticks: [10, 20, 50] });
  });
  it('uses whole decades beyond three', () => {
    expect(logTicks(0.6, 1211)).toEqual({ min: 0.1, max: 10000, ticks: [0.1, 1, 10, 100, 1000, 10000] });
  });
  it('every other decade beyond eight', () => {
    expect(logTicks(1e-3, 1e7).ticks).toEqual([1e-3, 1e-1, 10, 1000, 1e5, 1e7]);
  });
  it('survives zero and equal bounds', () => {
    expect(logTicks(0, 100).min).toBeGreaterThan(0);
    const t = logTicks(7, 7);
    expect(t.min).toBeLessThanOrEqual(7);
    expect(t.max).toBeGreaterThanOrEqual(7);
  });
});

describe('binaryTicks', () => {
  it('puts size ticks on powers of four when powers of two would be too many', () => {
    expect(binaryTicks(6120, 272525)).toEqual({ min: 1024, max: 1048576, ticks: [1024, 4096, 16384, 65536, 262144, 1048576] });
  });
  it('every power of two over a short range, one below the smallest', () => {
    expect(binaryTicks(500, 600)).toEqual({ min: 128, max: 1024, ticks: [128, 256, 512, 1024] });
  });
});

describe('scales', () => {
  it('linear maps the domain onto the range, reversed ranges too', () => {
    const y = scaleLinear(0, 100, 240, 40);
    expect(y(0)).toBe(240);
    expect(y(100)).toBe(40);
    expect(y(25)).toBe(190);
    expect(scaleLinear(5, 5, 0, 10)(123)).toBe(5);
  });
  it('log maps decades to equal distances', () => {
    const x = scaleLog(1, 1000, 0, 300);
    expect(x(1)).toBe(0);
    expect(x(10)).toBeCloseTo(100, 10);
    expect(x(100)).toBeCloseTo(200, 10);
    expect(x(Math.sqrt(10))).toBeCloseTo(50, 10);
    expect(x(0)).toBe(0); // clamped to the domain start
  });
  it('wantsLog only for positive values spread wider than the ratio', () => {
    expect(wantsLog([6120, 272525])).toBe(true);
    expect(wantsLog([6120, 19312])).toBe(false);
    expect(wantsLog([0, 100, 10000])).toBe(false);
    expect(wantsLog([0.03, 0.000127], 10)).toBe(true);
  });
});
