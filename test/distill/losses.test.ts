import { describe, expect, it } from 'vitest';
import {
  gaussianKlLoss,
  klDistillLoss,
  klFromProbs,
  mseLoss,
  nllLoss,
  softmaxRows,
  squashActions,
  squashBackward,
  unsquashAction,
  argmaxRow,
} from '../../pipeline/src/distill/losses.js';

const f32 = (a: number[]) => Float32Array.from(a);

/** Central finite differences of a scalar function of x (float64 copy, so the check is precise). */
function numericGrad(fn: (x: Float32Array) => number, x: Float32Array, h = 1e-3): number[] {
  const g: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const xp = x.slice();
    const xm = x.slice();
    xp[i] += h;
    xm[i] -= h;
    g.push((fn(xp) - fn(xm)) / (xp[i] - xm[i]));
  }
  return g;
}

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i]), `index ${i}: ${a[i]} vs ${b[i]}`).toBeLessThan(tol);
}

describe('softmaxRows', () => {
  it('matches hand values, with temperature', () => {
    const out = new Float32Array(4);
    softmaxRows(f32([0, Math.log(3), 1, 1]), 2, 2, 1, out);
    expectClose(out, [0.25, 0.75, 0.5, 0.5], 1e-7);
    // tau = 0.5 doubles the logits: softmax([0, 2 ln 3]) = [1/10, 9/10]
    softmaxRows(f32([0, Math.log(3)]), 1, 2, 0.5, out);
    expectClose(out.subarray(0, 2), [0.1, 0.9], 1e-7);
  });
  it('is stable for large values', () => {
    const out = new Float32Array(2);
    softmaxRows(f32([1000, 1000]), 1, 2, 0.01, out);
    expectClose(out, [0.5, 0.5], 1e-7);
  });
});

describe('klDistillLoss (Rusu et al. 2016)', () => {
  it('hand value: teacher [0, ln 3] (p = [1/4, 3/4]), student [0, 0] (q = [1/2, 1/2])', () => {
    const g = new Float32Array(2);
    const loss = klDistillLoss(f32([0, Math.log(3)]), f32([0, 0]), 1, 2, 1, g);
    const expected = 0.25 * Math.log(0.25 / 0.5) + 0.75 * Math.log(0.75 / 0.5);
    expect(loss).toBeCloseTo(expected, 6);
    expectClose(g, [0.5 - 0.25, 0.5 - 0.75], 1e-6);
  });
  it('is zero when the student equals the sharpened teacher, and sharp with tau = 0.01', () => {
    expect(klDistillLoss(f32([1, 2, 3]), f32([1, 2, 3]), 1, 3, 1, null)).toBeCloseTo(0, 7);
    // tau 0.01 on q-values 0.1 apart: p ~ one-hot on the best action, so KL ~ -log q(best).
    const s = f32([0.3, 0.1, -0.2]);
    const loss = klDistillLoss(f32([1.0, 1.1, 0.5]), s, 1, 3, 0.01, null);
    const lse = Math.log(Math.exp(0.3) + Math.exp(0.1) + Math.exp(-0.2));
    expect(loss).toBeCloseTo(lse - 0.1, 2); // -log q(best) up to the e^-10 teacher mass elsewhere
    const z = [1.0, 1.1, 0.5].map((v) => v / 0.01);
    const zl = Math.max(...z) + Math.log(z.reduce((a, v) => a + Math.exp(v - Math.max(...z)), 0));
    const p = z.map((v) => Math.exp(v - zl));
    const exact = p.reduce((a, pj, j) => a + (pj > 0 ? pj * (Math.log(pj) - ([0.3, 0.1, -0.2][j] - lse)) : 0), 0);
    expect(loss).toBeCloseTo(exact, 6);
  });
  it('gradient matches finite differences (batch of 3, 4 actions, tau 0.5)', () => {
    const t = f32([0.2, -1, 0.5, 2, 1, 1, -0.3, 0, 3, -2, 0.1, 0.4]);
    const s = f32([0.1, 0.3, -0.4, 1, 0, 0.2, 0.5, -1, 1.5, 0.3, -0.2, 0.9]);
    const g = new Float32Array(12);
    klDistillLoss(t, s, 3, 4, 0.5, g);
    expectClose(g, numericGrad((x) => klDistillLoss(t, x, 3, 4, 0.5, null), s), 2e-4);
  });
  it('klFromProbs equals klDistillLoss on softmax(t / tau), gradient included', () => {
    const t = f32([0.2, -1, 0.5, 2, 1, 1]);
    const s = f32([0.1, 0.3, -0.4, 1, 0, 0.2]);
    const p = new Float32Array(6);
    softmaxRows(t, 2, 3, 0.7, p);
    const g1 = new Float32Array(6);
    const g2 = new Float32Array(6);
    expect(klFromProbs(p, s, 2, 3, g1)).toBeCloseTo(klDistillLoss(t, s, 2, 3, 0.7, g2), 6);
    expectClose(g1, g2, 1e-7);
  });
});

describe('nllLoss', () => {
  it('hand value and gradient', () => {
    const g = new Float32Array(4);
    // row 0: logits [0, 0], action 1 -> ln 2; row 1: logits [ln 3, 0], action 0 -> -ln(3/4)
    const loss = nllLoss([1, 0], f32([0, 0, Math.log(3), 0]), 2, 2, g);
    expect(loss).toBeCloseTo((Math.log(2) - Math.log(0.75)) / 2, 6);
    expectClose(g, [0.25, -0.25, -0.125, 0.125], 1e-6);
  });
  it('gradient matches finite differences, and equals KL to a one-hot', () => {
    const s = f32([0.1, 0.3, -0.4, 1, 0, 0.2]);
    const g = new Float32Array(6);
    nllLoss([2, 0], s, 2, 3, g);
    expectClose(g, numericGrad((x) => nllLoss([2, 0], x, 2, 3, null), s), 2e-4);
    expect(klFromProbs(f32([0, 0, 1, 1, 0, 0]), s, 2, 3, null)).toBeCloseTo(nllLoss([2, 0], s, 2, 3, null), 6);
  });
});

describe('mseLoss', () => {
  it('hand value (mean over elements) and gradient', () => {
    const g = new Float32Array(4);
    const loss = mseLoss(f32([1, 2, 3, 4]), f32([1, 0, 3, 5]), 2, 2, g);
    expect(loss).toBeCloseTo((0 + 4 + 0 + 1) / 4, 7);
    expectClose(g, [0, (2 * -2) / 4, 0, (2 * 1) / 4], 1e-7);
    const p = f32([0.5, -1, 2, 0.25]);
    expectClose(g.fill(0) && (mseLoss(f32([1, 2, 3, 4]), p, 2, 2, g), g), numericGrad((x) => mseLoss(f32([1, 2, 3, 4]), x, 2, 2, null), p), 1e-3);
  });
});

describe('gaussianKlLoss', () => {
  it('hand value: KL(N(0,1) || N(1, e^2)) = 1 + (1 + 1) / (2 e^2) - 1/2', () => {
    const loss = gaussianKlLoss(f32([0]), f32([0]), f32([1]), f32([1]), 1, 1, null, null);
    expect(loss).toBeCloseTo(1 + 2 / (2 * Math.exp(2)) - 0.5, 6);
  });
  it('is zero for identical Gaussians', () => {
    expect(gaussianKlLoss(f32([0.3, -1]), f32([-0.5, 0.2]), f32([0.3, -1]), f32([-0.5, 0.2]), 1, 2, null, null)).toBeCloseTo(0, 7);
  });
  it('gradients wrt the student mean and log-std match finite differences', () => {
    const muT = f32([0.2, -0.4, 1.0, 0.5, 0.1, -0.9]);
    const lsT = f32([-0.5, 0.3]);
    const muS = f32([0.0, -0.1, 0.7, 0.9, -0.3, -0.5]);
    const lsS = f32([-0.2, 0.1]);
    const gMu = new Float32Array(6);
    const gLs = new Float32Array(2);
    gaussianKlLoss(muT, lsT, muS, lsS, 3, 2, gMu, gLs);
    expectClose(gMu, numericGrad((x) => gaussianKlLoss(muT, lsT, x, lsS, 3, 2, null, null), muS), 5e-4);
    expectClose(gLs, numericGrad((x) => gaussianKlLoss(muT, lsT, muS, x, 3, 2, null, null), lsS), 5e-4);
  });
});

describe('continuous squash', () => {
  const low = f32([-2]);
  const high = f32([2]);
  it('tanh squash maps the mean into the box (IR semantics) and inverts', () => {
    const a = new Float32Array(3);
    squashActions(f32([0, 100, Math.atanh(0.5)]), 3, 1, 'tanh', low, high, a);
    expectClose(a, [0, 2, 1], 1e-6);
    expect(unsquashAction(1, 'tanh', -2, 2)).toBeCloseTo(Math.atanh(0.5), 6);
    squashActions(f32([-3, 1.5]), 2, 1, 'none', low, high, a);
    expectClose(a.subarray(0, 2), [-2, 1.5], 1e-7);
  });
  it('MSE through the tanh squash: gradient matches finite differences', () => {
    const m = f32([0.3, -1.2, 0.05]);
    const t = f32([1.5, -0.5, 0]);
    const lossOf = (x: Float32Array) => {
      const a = new Float32Array(3);
      squashActions(x, 3, 1, 'tanh', low, high, a);
      return mseLoss(t, a, 3, 1, null);
    };
    const a = new Float32Array(3);
    squashActions(m, 3, 1, 'tanh', low, high, a);
    const g = new Float32Array(3);
    mseLoss(t, a, 3, 1, g);
    squashBackward(m, 3, 1, 'tanh', low, high, g);
    expectClose(g, numericGrad(lossOf, m), 1e-3);
  });
});

describe('argmaxRow', () => {
  it('takes the first index on ties', () => {
    expect(argmaxRow([1, 3, 3, 0], 0, 4)).toBe(1);
    expect(argmaxRow([0, 0, 5, 2], 1, 2)).toBe(0);
  });
});
