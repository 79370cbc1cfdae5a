/** Adam (Kingma & Ba 2015) with bias correction, in place on flat Float32Arrays. */

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

/**
 * One Adam step at time t (1-based): m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
 */
export function adamUpdate(
  params: Float32Array,
  grads: Float32Array,
  m: Float32Array,
  v: Float32Array,
  t: number,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
): void {
  const c1 = 1 / (1 - Math.pow(beta1, t));
  const c2 = 1 / (1 - Math.pow(beta2, t));
  const a1 = 1 - beta1;
  const a2 = 1 - beta2;
  const n = params.length;
  for (let k = 0; k < n; k++) {
    const g = grads[k];
    const mk = beta1 * m[k] + a1 * g;
    const vk = beta2 * v[k] + a2 * g * g;
    m[k] = mk;
    v[k] = vk;
    params[k] -= (lr * mk * c1) / (Math.sqrt(vk * c2) + eps);
  }
}

export class Adam {
  readonly m: Float32Array;
  readonly v: Float32Array;
  t = 0;
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;

  constructor(n: number, opts: AdamOptions) {
    this.m = new Float32Array(n);
    this.v = new Float32Array(n);
    this.lr = opts.lr;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
  }

  step(params: Float32Array, grads: Float32Array): void {
    this.t++;
    adamUpdate(params, grads, this.m, this.v, this.t, this.lr, this.beta1, this.beta2, this.eps);
  }
}
