/**
 * A trainable MLP for fine-tuning compressed students, with per-layer parametrizations:
 *   dense   : the weights themselves, optionally masked (pruned weights get no gradient and stay 0);
 *   shared  : k centroids and fixed indices (w = c[idx]); dL/dc_k = sum of dL/dw over k's members
 *             (Han et al. 2016); a pinned centroid (the pruned zeros) never moves;
 * and optional fake quantization (quantization-aware training): the forward pass runs on weights
 * and activations rounded to the int8 grid forwardInt8 uses, the backward pass treats the rounding
 * as identity (straight-through) except where a value saturated.
 * Matrix products use the distill trainer's kernels (denseForward / denseBackward, activation
 * 'none'); activations and their derivatives are applied here so the fake quantization can sit
 * between the product and the activation as the int8 graph has it.
 */
import { denseBackward, denseForward } from '../distill/index.js';
import type { Activation, DenseLayer, ObsNormalization, PolicyModel } from '../ir/types.js';
import { LOGISTIC_OUTPUT, TANH_OUTPUT, type ActivationParams } from '../quant/int8.js';
import { INT8_MAX, INT8_MIN } from '../quant/ops/clamp.js';
import { fakeQuantActivations, fakeQuantWeights } from '../quant/fake-quant.js';

export type LayerParam =
  | { kind: 'dense'; mask?: Uint8Array | null }
  | { kind: 'shared'; indices: Uint8Array; k: number; pinned?: number };

/** Activation parameters the int8 graph uses: normalized input, and each layer's FC output. */
export interface FakeQuantSpec {
  input: ActivationParams;
  /** Saturation bounds of the quantized input (default int8; wider for a wide input). */
  inputMin?: number;
  inputMax?: number;
  outputs: readonly ActivationParams[];
}

interface LayerState {
  inDim: number;
  outDim: number;
  act: Activation;
  param: LayerParam;
  /** Offsets into params: weights (or centroids) then bias. */
  wOff: number;
  wLen: number;
  bOff: number;
  wEff: Float32Array;
  dwEff: Float32Array;
  z: Float32Array;
  t: Float32Array;
  y: Float32Array;
  dy: Float32Array;
  passZ: Uint8Array;
  passY: Uint8Array;
}

export class TunableMlp {
  readonly params: Float32Array;
  readonly grads: Float32Array;
  readonly maxBatch: number;
  /** The model's observation normalization: inputs to forward() are normalized with it. */
  readonly obsNorm: ObsNormalization | null;
  fakeQuant: FakeQuantSpec | null = null;
  private readonly L: LayerState[] = [];
  private xq: Float32Array;
  private lastX: Float32Array | null = null;
  private lastBatch = 0;

  constructor(model: PolicyModel, params: readonly LayerParam[] | null, maxBatch: number) {
    this.maxBatch = maxBatch;
    this.obsNorm = model.obsNorm;
    const ps = params ?? model.layers.map((): LayerParam => ({ kind: 'dense' }));
    let off = 0;
    const shapes = model.layers.map((l, i) => {
      const p = ps[i];
      const wLen = p.kind === 'shared' ? p.k : l.weight.length;
      const s = { wOff: off, wLen, bOff: off + wLen };
      off += wLen + l.outDim;
      return s;
    });
    this.params = new Float32Array(off);
    this.grads = new Float32Array(off);
    model.layers.forEach((l, i) => {
      const p = ps[i];
      const s = shapes[i];
      if (p.kind === 'shared') {
        if (!l.codebook || l.codebook.centroids.length !== p.k) throw new Error(`layer ${i}: shared parametrization needs its codebook of ${p.k} centroids`);
        this.params.set(l.codebook.centroids, s.wOff);
      } else {
        this.params.set(l.weight, s.wOff);
        if (p.mask) for (let k = 0; k < l.weight.length; k++) if (!p.mask[k]) this.params[s.wOff + k] = 0;
      }
      this.params.set(l.bias, s.bOff);
      const n = maxBatch * l.outDim;
      this.L.push({
        inDim: l.inDim,
        outDim: l.outDim,
        act: l.activation,
        param: p,
        ...s,
        wEff: new Float32Array(l.weight.length),
        dwEff: new Float32Array(l.weight.length),
        z: new Float32Array(n),
        t: new Float32Array(n),
        y: new Float32Array(n),
        dy: new Float32Array(n),
        passZ: new Uint8Array(n),
        passY: new Uint8Array(n),
      });
    });
    this.xq = new Float32Array(maxBatch * model.obsDim);
  }

  get outDim(): number {
    return this.L[this.L.length - 1].outDim;
  }

  /** The float weights the parametrization defines (masked, or decoded from centroids). */
  private floatWeights(l: LayerState, out: Float32Array): Float32Array {
    const p = l.param;
    const w = this.params.subarray(l.wOff, l.wOff + l.wLen);
    if (p.kind === 'shared') for (let k = 0; k < out.length; k++) out[k] = w[p.indices[k]];
    else if (p.mask) for (let k = 0; k < out.length; k++) out[k] = p.mask[k] ? w[k] : 0;
    else out.set(w);
    return out;
  }

  private materialize(): void {
    for (const l of this.L) {
      this.floatWeights(l, l.wEff);
      if (this.fakeQuant) fakeQuantWeights(l.wEff, l.outDim, l.inDim, l.wEff);
    }
  }

  /** Forward over `batch` normalized observations; returns the output buffer (batch * outDim valid). */
  forward(x: Float32Array, batch: number): Float32Array {
    if (batch > this.maxBatch) throw new RangeError(`TunableMlp.forward: batch ${batch} > maxBatch ${this.maxBatch}`);
    this.materialize();
    const fq = this.fakeQuant;
    let input = x;
    if (fq) {
      const d = this.L[0].inDim;
      this.xq.set(x.subarray(0, batch * d));
      fakeQuantActivations(this.xq, batch * d, fq.input, null, fq.inputMin ?? INT8_MIN, fq.inputMax ?? INT8_MAX);
      input = this.xq;
    }
    this.lastX = input;
    this.lastBatch = batch;
    this.L.forEach((l, i) => {
      const n = batch * l.outDim;
      denseForward(input, batch, l.inDim, l.wEff, this.params.subarray(l.bOff, l.bOff + l.outDim), l.outDim, 'none', l.z);
      const out = fq ? fq.outputs[i] : null;
      const act = l.act;
      if (out && (act === 'tanh' || act === 'sigmoid')) {
        // int8: FC output quantized, then a TANH / LOGISTIC table onto its fixed output grid.
        l.t.set(l.z.subarray(0, n));
        fakeQuantActivations(l.t, n, out, l.passZ);
        activate(act, l.t, n);
        l.y.set(l.t.subarray(0, n));
        fakeQuantActivations(l.y, n, act === 'tanh' ? TANH_OUTPUT : LOGISTIC_OUTPUT, l.passY);
      } else {
        l.t.set(l.z.subarray(0, n));
        activate(act, l.t, n);
        l.y.set(l.t.subarray(0, n));
        if (out) fakeQuantActivations(l.y, n, out, l.passY, act === 'relu' ? Math.max(INT8_MIN, out.zeroPoint) : INT8_MIN);
      }
      input = l.y;
    });
    return input;
  }

  /** Backward for the last forward; overwrites `grads`. */
  backward(dOut: Float32Array): void {
    const x = this.lastX;
    if (!x) throw new Error('TunableMlp.backward called before forward');
    const batch = this.lastBatch;
    const fq = this.fakeQuant;
    this.grads.fill(0);
    const top = this.L[this.L.length - 1];
    top.dy.set(dOut.subarray(0, batch * top.outDim));
    for (let i = this.L.length - 1; i >= 0; i--) {
      const l = this.L[i];
      const n = batch * l.outDim;
      const g = l.dy;
      const squashed = fq && (l.act === 'tanh' || l.act === 'sigmoid');
      if (fq) for (let k = 0; k < n; k++) if (!l.passY[k]) g[k] = 0;
      if (l.act === 'relu') for (let k = 0; k < n; k++) if (!(l.z[k] > 0)) g[k] = 0;
      if (l.act === 'tanh') for (let k = 0; k < n; k++) g[k] *= 1 - l.t[k] * l.t[k];
      if (l.act === 'sigmoid') for (let k = 0; k < n; k++) g[k] *= l.t[k] * (1 - l.t[k]);
      if (squashed) for (let k = 0; k < n; k++) if (!l.passZ[k]) g[k] = 0;
      l.dwEff.fill(0);
      const db = this.grads.subarray(l.bOff, l.bOff + l.outDim);
      const input = i === 0 ? x : this.L[i - 1].y;
      denseBackward(input, l.y, g, batch, l.inDim, l.outDim, 'none', l.wEff, l.dwEff, db, i === 0 ? null : this.L[i - 1].dy);
      // Straight-through: the gradient wrt the (fake-quantized, masked, shared) weights goes to the parameters.
      const p = l.param;
      const gw = this.grads.subarray(l.wOff, l.wOff + l.wLen);
      if (p.kind === 'shared') {
        for (let k = 0; k < l.dwEff.length; k++) gw[p.indices[k]] += l.dwEff[k];
        if (p.pinned !== undefined && p.pinned >= 0) gw[p.pinned] = 0;
      } else if (p.mask) for (let k = 0; k < l.dwEff.length; k++) gw[k] = p.mask[k] ? l.dwEff[k] : 0;
      else gw.set(l.dwEff);
    }
  }

  /** After an optimizer step: pruned weights back to exactly 0 (Adam's moments are 0 there anyway). */
  afterStep(): void {
    for (const l of this.L) {
      const p = l.param;
      if (p.kind === 'dense' && p.mask) for (let k = 0; k < l.wLen; k++) if (!p.mask[k]) this.params[l.wOff + k] = 0;
      if (p.kind === 'shared' && p.pinned !== undefined && p.pinned >= 0) this.params[l.wOff + p.pinned] = 0;
    }
  }

  /** Forward over any number of rows, chunked by maxBatch. */
  predict(x: Float32Array, n: number, out: Float32Array): Float32Array {
    const d = this.L[0].inDim;
    const o = this.outDim;
    for (let s = 0; s < n; s += this.maxBatch) {
      const m = Math.min(this.maxBatch, n - s);
      out.set(this.forward(x.subarray(s * d, (s + m) * d), m).subarray(0, m * o), s * o);
    }
    this.lastX = null;
    return out;
  }

  /** The float model (shadow weights: not fake-quantized), with codebooks for shared layers. */
  toModel(base: PolicyModel): PolicyModel {
    const layers = this.L.map((l): DenseLayer => {
      const weight = this.floatWeights(l, new Float32Array(l.wEff.length));
      const bias = this.params.slice(l.bOff, l.bOff + l.outDim);
      const p = l.param;
      const codebook = p.kind === 'shared' ? { centroids: this.params.slice(l.wOff, l.wOff + l.wLen), indices: p.indices.slice() } : undefined;
      return { inDim: l.inDim, outDim: l.outDim, activation: l.act, weight, bias, ...(codebook ? { codebook } : {}) };
    });
    return { ...base, layers };
  }
}

function activate(a: Activation, v: Float32Array, n: number): void {
  if (a === 'relu') for (let k = 0; k < n; k++) v[k] = v[k] > 0 ? v[k] : 0;
  else if (a === 'tanh') for (let k = 0; k < n; k++) v[k] = Math.tanh(v[k]);
  else if (a === 'sigmoid') for (let k = 0; k < n; k++) v[k] = 1 / (1 + Math.exp(-v[k]));
}
