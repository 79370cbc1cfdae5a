/**
 * 1-D k-means for weight sharing (Han et al. 2016, "Deep Compression"): k-means++ seeding (Arthur &
 * Vassilvitskii 2007) from a seeded PRNG, then Lloyd iterations until no assignment changes.
 * Centroids come back sorted ascending (indices remapped), so equal inputs give equal codebooks.
 */
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { seededRandom } from '../ir/build.js';

export interface KMeansResult {
  /** Sorted ascending, float32. */
  centroids: Float32Array;
  /** Index of each value's centroid. */
  indices: Uint8Array;
  /** Sum of squared distances to the assigned centroid. */
  inertia: number;
  iterations: number;
}

/** Index of the centroid nearest to v (first on ties). */
function nearest(v: number, c: Float64Array, k: number): number {
  let best = 0;
  let bd = Math.abs(v - c[0]);
  for (let j = 1; j < k; j++) {
    const d = Math.abs(v - c[j]);
    if (d < bd) {
      bd = d;
      best = j;
    }
  }
  return best;
}

/** k-means++ seeding: the first centre uniformly, each next one with probability proportional to D(x)^2. */
export function kmeansPlusPlusInit(values: ArrayLike<number>, k: number, rnd: () => number): Float64Array {
  const n = values.length;
  const c = new Float64Array(k);
  c[0] = values[Math.min(n - 1, Math.floor(rnd() * n))];
  const d2 = new Float64Array(n);
  for (let i = 0; i < n; i++) d2[i] = (values[i] - c[0]) ** 2;
  for (let j = 1; j < k; j++) {
    let total = 0;
    for (let i = 0; i < n; i++) total += d2[i];
    let pick = n - 1;
    if (total > 0) {
      let r = rnd() * total;
      for (let i = 0; i < n; i++) {
        r -= d2[i];
        if (r < 0) {
          pick = i;
          break;
        }
      }
    }
    c[j] = values[pick];
    for (let i = 0; i < n; i++) d2[i] = Math.min(d2[i], (values[i] - c[j]) ** 2);
  }
  return c;
}

/**
 * Clusters `values` into at most k (<= 256) groups. When there are k or fewer distinct values the
 * codebook is exactly those values (lossless).
 */
export function kmeans1d(values: ArrayLike<number>, k: number, opts: { seed?: number; maxIterations?: number } = {}): KMeansResult {
  if (!Number.isInteger(k) || k < 1 || k > 256) {
    throw new EdgeDistillError('BAD_ARGUMENT', `k must be an integer from 1 to 256, got ${k}`, { field: 'k' });
  }
  const n = values.length;
  if (n === 0) throw new EdgeDistillError('BAD_ARGUMENT', 'k-means needs at least one value', { field: 'values' });
  const distinct = Array.from(new Set(Array.from(values, (v) => Math.fround(v)))).sort((a, b) => a - b);
  let c: Float64Array;
  let kk: number;
  if (distinct.length <= k) {
    c = Float64Array.from(distinct);
    kk = distinct.length;
  } else {
    c = kmeansPlusPlusInit(values, k, seededRandom(opts.seed ?? 0));
    kk = k;
  }
  const assign = new Int32Array(n).fill(-1);
  const sum = new Float64Array(kk);
  const count = new Int32Array(kk);
  const maxIt = opts.maxIterations ?? 100;
  let it = 0;
  for (; it < maxIt; it++) {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const a = nearest(values[i], c, kk);
      if (a !== assign[i]) {
        assign[i] = a;
        changed++;
      }
    }
    if (changed === 0 && it > 0) break;
    sum.fill(0);
    count.fill(0);
    for (let i = 0; i < n; i++) {
      sum[assign[i]] += values[i];
      count[assign[i]]++;
    }
    for (let j = 0; j < kk; j++) {
      if (count[j] > 0) c[j] = sum[j] / count[j];
      else {
        // Empty cluster: move it to the value farthest from its centre.
        let far = 0;
        let fd = -1;
        for (let i = 0; i < n; i++) {
          const d = Math.abs(values[i] - c[assign[i]]);
          if (d > fd) {
            fd = d;
            far = i;
          }
        }
        c[j] = values[far];
      }
    }
  }
  // Sort centroids, drop the unused, remap (deterministic output order).
  for (let i = 0; i < n; i++) assign[i] = nearest(values[i], c, kk);
  const used = new Set<number>(Array.from(assign));
  const order = Array.from(used).sort((a, b) => c[a] - c[b] || a - b);
  const remap = new Int32Array(kk).fill(-1);
  order.forEach((j, r) => (remap[j] = r));
  const centroids = Float32Array.from(order, (j) => c[j]);
  const indices = new Uint8Array(n);
  let inertia = 0;
  for (let i = 0; i < n; i++) {
    indices[i] = remap[assign[i]];
    inertia += (values[i] - centroids[indices[i]]) ** 2;
  }
  return { centroids, indices, inertia, iterations: it };
}
