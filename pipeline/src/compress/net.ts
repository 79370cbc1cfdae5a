/**
 * A trainable MLP for fine-tuning compressed students, with per-layer parametrizations:
 *   dense   : the weights themselves, optionally masked (pruned weights get no gradient and stay 0);
 *   shared  : k centroids and fixed indices (w = c[idx]); dL/dc_k = sum of dL/dw over k's members
 *             (Han et al. 2016); a pinned centroid (the pruned zeros) never moves;
 * and optional fake quantization (quantization-aware training): the forward pass runs on weights
 * and activations rounded to the int8 grid forwardInt8 uses, the backward pass treats the rounding
 * as identity (straight-through) except where a value saturated.
 * Matrix products use the distill trainer's kernels, activation 'none' (activations and their
 * derivatives are applied here so the fake quantization can sit between the product and the
 * activation as the int8 graph has it), on one of MlpTrainer's two backends (same names, same
 * EDGEDISTILL_TRAINER override): 'wasm-simd-f32' runs the products, relu, fake quantization and
 * gradient gates as kernels of distill/kernels/mlp.wat on buffers in one WebAssembly memory, rows
 * padded to a multiple of 4 floats (the padding never reaches a real value: products read only the
 * real columns, and results for padded rows and columns are discarded); 'js-f32' (the reference and
 * the fallback) runs denseForward / denseBackward and the loops below on dense rows. They differ in
 * float summation order only (the JS products accumulate in double, the wasm ones in float32).
 */
import { denseBackward, denseForward } from '../distill/index.js';
import { instantiateKernels, kernelModule, KernelLayout, pad4, WASM_BACKEND, type MlpKernels } from '../distill/kernels/mlp-wasm.js';
import { resolveTrainerBackend, type MlpTrainerOptions, type TrainerBackend } from '../distill/mlp-train.js';
import { inverseScale } from '../quant/ops/quantize.js';
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

/** Byte offsets of a layer's buffers in the kernel memory (wasm backend). */
interface WasmLayer {
  wEff: number;
  dwEff: number;
  /** W^T [in][outPad] (forward product), W [out][inPad] (input gradient), bias [outPad]. */
  wt: number;
  wp: number;
  bp: number;
  /** Weight gradient [inPad][outPad] or [outPad][inPad], bias gradient [outPad]. */
  gw: number;
  gb: number;
  z: number;
  t: number;
  y: number;
  dy: number;
  passZ: number;
  passY: number;
}

interface LayerState {
  inDim: number;
  outDim: number;
  /** Row length of z, t, y, dy and the gates: outDim (js), pad4(outDim) (wasm). */
  stride: number;
  act: Activation;
  param: LayerParam;
  /** Offsets into params: weights (or centroids) then bias. */
  wOff: number;
  wLen: number;
  bOff: number;
  /** Dense [out][in] (views into the kernel memory on wasm). */
  wEff: Float32Array;
  dwEff: Float32Array;
  z: Float32Array;
  t: Float32Array;
  y: Float32Array;
  dy: Float32Array;
  /** Straight-through gates (js; the wasm ones are i32 masks at w.passZ / w.passY): 1 where the value stayed inside the int8 range. */
  passZ: Uint8Array;
  passY: Uint8Array;
  w: WasmLayer | null;
}

export type TunableMlpOptions = MlpTrainerOptions;

interface WasmState {
  k: MlpKernels;
  f32: Float32Array;
  /** Padded input [maxBatch][pad4(inDim)] and its float view; dense output [maxBatch][outDim]. */
  input: number;
  inputView: Float32Array;
  outAt: number;
  out: Float32Array;
}

export class TunableMlp {
  readonly params: Float32Array;
  readonly grads: Float32Array;
  readonly maxBatch: number;
  /** The model's observation normalization: inputs to forward() are normalized with it. */
  readonly obsNorm: ObsNormalization | null;
  fakeQuant: FakeQuantSpec | null = null;
  /** Which code runs the passes (see the file comment). */
  readonly backend: TrainerBackend;
  private readonly L: LayerState[] = [];
  private xq: Float32Array;
  private lastX: Float32Array | null = null;
  private lastBatch = 0;
  private readonly wasm: WasmState | null = null;

  constructor(model: PolicyModel, params: readonly LayerParam[] | null, maxBatch: number, opts: TunableMlpOptions = {}) {
    this.maxBatch = maxBatch;
    this.obsNorm = model.obsNorm;
    this.backend = resolveTrainerBackend(opts);
    const mod = this.backend === WASM_BACKEND ? kernelModule() : null;
    const lay = mod ? new KernelLayout() : null;
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
      const stride = lay ? pad4(l.outDim) : l.outDim;
      const n = maxBatch * stride;
      const w: WasmLayer | null = lay
        ? {
            wEff: lay.alloc(l.weight.length),
            dwEff: lay.alloc(l.weight.length),
            wt: lay.alloc(l.inDim * stride),
            wp: lay.alloc(l.outDim * pad4(l.inDim)),
            bp: lay.alloc(stride),
            gw: lay.alloc(pad4(l.inDim) * stride),
            gb: lay.alloc(stride),
            z: lay.alloc(n),
            t: lay.alloc(n),
            y: lay.alloc(n),
            dy: lay.alloc(n),
            passZ: lay.alloc(n),
            passY: lay.alloc(n),
          }
        : null;
      const buf = (floats: number) => new Float32Array(floats);
      this.L.push({
        inDim: l.inDim,
        outDim: l.outDim,
        stride,
        act: l.activation,
        param: p,
        ...s,
        // On wasm these are replaced by views below, once the memory exists.
        wEff: buf(l.weight.length),
        dwEff: buf(l.weight.length),
        z: buf(w ? 0 : n),
        t: buf(w ? 0 : n),
        y: buf(w ? 0 : n),
        dy: buf(w ? 0 : n),
        passZ: new Uint8Array(w ? 0 : n),
        passY: new Uint8Array(w ? 0 : n),
        w,
      });
    });
    this.xq = new Float32Array(maxBatch * model.obsDim);
    if (mod && lay) {
      const inPad = pad4(model.obsDim);
      const input = lay.alloc(maxBatch * inPad);
      const outAt = lay.alloc(maxBatch * this.outDim);
      const { kernels, f32 } = instantiateKernels(mod, lay.top);
      const view = (at: number, floats: number) => f32.subarray(at / 4, at / 4 + floats);
      for (const l of this.L) {
        const w = l.w as WasmLayer;
        const n = maxBatch * l.stride;
        l.wEff = view(w.wEff, l.wEff.length);
        l.dwEff = view(w.dwEff, l.dwEff.length);
        l.z = view(w.z, n);
        l.t = view(w.t, n);
        l.y = view(w.y, n);
        l.dy = view(w.dy, n);
      }
      this.wasm = { k: kernels, f32, input, inputView: view(input, maxBatch * inPad), outAt, out: view(outAt, maxBatch * this.outDim) };
    }
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
    if (this.wasm) return this.forwardWasm(this.wasm, x, batch);
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

  private forwardWasm(W: WasmState, x: Float32Array, batch: number): Float32Array {
    const { k, f32 } = W;
    const fq = this.fakeQuant;
    const d = this.L[0].inDim;
    const inPad = pad4(d);
    const xin = W.inputView;
    if (d === inPad) xin.set(x.subarray(0, batch * d));
    else for (let r = 0; r < batch; r++) for (let j = 0; j < d; j++) xin[r * inPad + j] = x[r * d + j];
    if (fq) quantWasm(k, W.input, batch * inPad, fq.input, 0, fq.inputMin ?? INT8_MIN, fq.inputMax ?? INT8_MAX);
    this.lastX = xin;
    this.lastBatch = batch;
    let a = W.input;
    let lda = inPad;
    this.L.forEach((l, i) => {
      const w = l.w as WasmLayer;
      const st = l.stride;
      const n = batch * st;
      k.transpose(w.wEff, l.inDim, l.outDim, l.inDim, w.wt, st);
      f32.set(this.params.subarray(l.bOff, l.bOff + l.outDim), w.bp / 4);
      k.gemm_nn(a, lda, w.wt, st, w.z, st, batch, l.inDim, st, w.bp, 0);
      const out = fq ? fq.outputs[i] : null;
      const act = l.act;
      if (act === 'tanh' || act === 'sigmoid') {
        // No SIMD tanh / exp: the JS loops on the padded rows (padding is never read as a real value).
        k.copy_rows(w.z, n, 1, n, w.t, n);
        if (out) quantWasm(k, w.t, n, out, w.passZ);
        activate(act, l.t, n);
        k.copy_rows(w.t, n, 1, n, w.y, n);
        if (out) quantWasm(k, w.y, n, act === 'tanh' ? TANH_OUTPUT : LOGISTIC_OUTPUT, w.passY);
      } else {
        if (act === 'relu') k.relu_out(w.z, w.y, n);
        else k.copy_rows(w.z, n, 1, n, w.y, n);
        if (out) quantWasm(k, w.y, n, out, w.passY, act === 'relu' ? Math.max(INT8_MIN, out.zeroPoint) : INT8_MIN, INT8_MAX);
      }
      a = w.y;
      lda = st;
    });
    const top = this.L[this.L.length - 1];
    if (top.stride === top.outDim) return top.y;
    k.copy_rows((top.w as WasmLayer).y, top.stride, batch, top.outDim, W.outAt, top.outDim);
    return W.out;
  }

  /** Backward for the last forward; overwrites `grads`. */
  backward(dOut: Float32Array): void {
    const x = this.lastX;
    if (!x) throw new Error('TunableMlp.backward called before forward');
    const batch = this.lastBatch;
    const fq = this.fakeQuant;
    this.grads.fill(0);
    if (this.wasm) {
      this.backwardWasm(this.wasm, dOut, batch);
      return;
    }
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
      this.paramGrads(l);
    }
  }

  private backwardWasm(W: WasmState, dOut: Float32Array, batch: number): void {
    const { k, f32 } = W;
    const fq = this.fakeQuant;
    const top = this.L[this.L.length - 1];
    for (let r = 0; r < batch; r++) for (let j = 0; j < top.outDim; j++) top.dy[r * top.stride + j] = dOut[r * top.outDim + j];
    for (let i = this.L.length - 1; i >= 0; i--) {
      const l = this.L[i];
      const w = l.w as WasmLayer;
      const st = l.stride;
      const n = batch * st;
      const g = l.dy;
      if (fq) k.gate_mask(w.dy, w.passY, n);
      if (l.act === 'relu') k.gate_positive(w.dy, w.z, n);
      if (l.act === 'tanh') for (let j = 0; j < n; j++) g[j] *= 1 - l.t[j] * l.t[j];
      if (l.act === 'sigmoid') for (let j = 0; j < n; j++) g[j] *= l.t[j] * (1 - l.t[j]);
      if (fq && (l.act === 'tanh' || l.act === 'sigmoid')) k.gate_mask(w.dy, w.passZ, n);
      k.colsum(w.dy, st, batch, st, w.gb);
      const db = this.grads.subarray(l.bOff, l.bOff + l.outDim);
      db.set(f32.subarray(w.gb / 4, w.gb / 4 + l.outDim));
      const inPad = pad4(l.inDim);
      const xp = i === 0 ? W.input : (this.L[i - 1].w as WasmLayer).y;
      if (st >= inPad) {
        k.gemm_tn(xp, inPad, w.dy, st, w.gw, st, inPad, batch, st);
        k.transpose(w.gw, st, l.inDim, l.outDim, w.dwEff, l.inDim);
      } else {
        k.gemm_tn(w.dy, st, xp, inPad, w.gw, inPad, st, batch, inPad);
        k.copy_rows(w.gw, inPad, l.outDim, l.inDim, w.dwEff, l.inDim);
      }
      if (i > 0) {
        k.copy_rows(w.wEff, l.inDim, l.outDim, l.inDim, w.wp, inPad);
        k.gemm_nn(w.dy, st, w.wp, inPad, (this.L[i - 1].w as WasmLayer).dy, inPad, batch, l.outDim, inPad, 0, 0);
      }
      this.paramGrads(l);
    }
  }

  /** Straight-through: the gradient wrt the (fake-quantized, masked, shared) weights goes to the parameters. */
  private paramGrads(l: LayerState): void {
    const p = l.param;
    const gw = this.grads.subarray(l.wOff, l.wOff + l.wLen);
    if (p.kind === 'shared') {
      for (let k = 0; k < l.dwEff.length; k++) gw[p.indices[k]] += l.dwEff[k];
      if (p.pinned !== undefined && p.pinned >= 0) gw[p.pinned] = 0;
    } else if (p.mask) for (let k = 0; k < l.dwEff.length; k++) gw[k] = p.mask[k] ? l.dwEff[k] : 0;
    else gw.set(l.dwEff);
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

/** fakeQuantActivations as the fake_quant kernel: in place on n floats at byte offset `at` (n % 4 == 0), gate (mask != 0) as i32 masks. */
function quantWasm(k: MlpKernels, at: number, n: number, p: ActivationParams, mask: number, lo: number = INT8_MIN, hi: number = INT8_MAX): void {
  k.fake_quant(at, n, inverseScale(p.scale), p.scale, p.zeroPoint, lo, hi, mask);
}

function activate(a: Activation, v: Float32Array, n: number): void {
  if (a === 'relu') for (let k = 0; k < n; k++) v[k] = v[k] > 0 ? v[k] : 0;
  else if (a === 'tanh') for (let k = 0; k < n; k++) v[k] = Math.tanh(v[k]);
  else if (a === 'sigmoid') for (let k = 0; k < n; k++) v[k] = 1 / (1 + Math.exp(-v[k]));
}
