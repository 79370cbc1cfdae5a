/**
 * The WebAssembly SIMD side of MlpTrainer: loads kernels/mlp.wasm (built from mlp.wat) once, and
 * lays out one network in one WebAssembly.Memory: parameters and gradients (in the IR's [out][in]
 * layout, so MlpTrainer's `params` / `grads` are views into this memory and nothing is copied per
 * step), packed weights for the kernels, and activations and deltas for `maxBatch` rows.
 *
 * The kernels want every row they read or write as vectors to be a multiple of 4 floats wide, so
 * the layout pads each layer's width to `pad4(width)` (the padding is zero and stays zero: padded
 * weight columns and biases are zero, relu(0) = tanh(0) = 0, so padded activations are zero).
 */
import { readFileSync } from 'node:fs';

export const WASM_BACKEND = 'wasm-simd-f32';

/** The kernels mlp.wat exports (pointers in bytes, sizes in floats). */
export interface MlpKernels {
  gemm_nn(a: number, lda: number, m: number, ldm: number, c: number, ldc: number, rows: number, k: number, n: number, bias: number, relu: number): void;
  gemm_tn(a: number, lda: number, m: number, ldm: number, c: number, ldc: number, rows: number, k: number, n: number): void;
  colsum(a: number, lda: number, rows: number, n: number, out: number): void;
  relu_mask(d: number, y: number, n: number): void;
  tanh_grad(d: number, y: number, n: number): void;
  copy_rows(src: number, lds: number, rows: number, cols: number, dst: number, ldd: number): void;
  transpose(src: number, lds: number, rows: number, cols: number, dst: number, ldd: number): void;
  relu_out(src: number, dst: number, n: number): void;
  gate_positive(d: number, z: number, n: number): void;
  gate_mask(d: number, mask: number, n: number): void;
  fake_quant(x: number, n: number, inv: number, scale: number, zp: number, lo: number, hi: number, mask: number): void;
}

/** A compiled WebAssembly.Module (opaque here). */
export type KernelModule = { readonly __wasmModule: unique symbol };

/**
 * The parts of the WebAssembly JS API used here, typed locally: the project's lib is ES2023
 * without DOM, and @types/node declares the namespace without its values.
 */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => KernelModule;
  Memory: new (desc: { initial: number }) => { readonly buffer: ArrayBuffer };
  Instance: new (mod: KernelModule, imports: Record<string, Record<string, unknown>>) => { readonly exports: Record<string, unknown> };
}
const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

let cached: KernelModule | null | undefined;

/**
 * The compiled kernel module, or null when this engine cannot run it (no WebAssembly, or no SIMD:
 * WebAssembly.validate rejects the v128 instructions). Compiled once per process; synchronous
 * because the module is 3 KB and MlpTrainer's constructor is synchronous.
 */
export function kernelModule(bytes?: Uint8Array): KernelModule | null {
  if (bytes === undefined && cached !== undefined) return cached;
  let mod: KernelModule | null = null;
  try {
    const b = bytes ?? readFileSync(new URL('./mlp.wasm', import.meta.url));
    if (wasmApi !== undefined && wasmApi.validate(b)) mod = new wasmApi.Module(b);
  } catch {
    mod = null;
  }
  if (bytes === undefined) cached = mod;
  return mod;
}

export const pad4 = (n: number): number => (n + 3) & ~3;

/** The kernels on a fresh (zeroed) memory of at least `bytes` bytes, and a float view of all of it. */
export function instantiateKernels(mod: KernelModule, bytes: number): { memory: { readonly buffer: ArrayBuffer }; kernels: MlpKernels; f32: Float32Array } {
  const api = wasmApi as WasmApi; // a KernelModule exists, so the API does
  const memory = new api.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
  const inst = new api.Instance(mod, { env: { memory } });
  return { memory, kernels: inst.exports as unknown as MlpKernels, f32: new Float32Array(memory.buffer) };
}

/**
 * Bump allocator of byte offsets for one kernel memory: 16-byte aligned blocks; byte 0 stays
 * unused, because a bias pointer of 0 means "no bias" to gemm_nn.
 */
export class KernelLayout {
  top = 16;
  alloc(floats: number): number {
    const at = this.top;
    this.top += ((floats * 4 + 15) & ~15) || 16;
    return at;
  }
}

export type WasmActivation = 'relu' | 'tanh' | 'none';

interface LayerLayout {
  inDim: number;
  outDim: number;
  inPad: number;
  outPad: number;
  /** Byte offsets. */
  w: number;
  b: number;
  dw: number;
  db: number;
  /** W^T [in][outPad] for the forward product. */
  wt: number;
  /** W [out][inPad] for the input gradient. */
  wp: number;
  /** bias [outPad]. */
  bp: number;
  /** Weight gradient scratch, [inPad][outPad] or [outPad][inPad] (whichever puts the wider side in vectors). */
  gw: number;
  gb: number;
  /** Post-activation outputs and deltas, [maxBatch][outPad]. */
  act: number;
  delta: number;
}

/** One network's memory and the forward/backward passes on it. */
export class WasmMlp {
  readonly memory: { readonly buffer: ArrayBuffer };
  readonly params: Float32Array;
  readonly grads: Float32Array;
  private readonly k: MlpKernels;
  private readonly f32: Float32Array;
  private readonly layers: LayerLayout[] = [];
  /** Padded input [maxBatch][inPad0], its gradient, and a dense staging area for callers' rows. */
  private readonly input: number;
  private readonly dInput: number;
  private readonly stage: number;
  /** Dense output [maxBatch][outDim] (the last layer's act itself when outDim % 4 == 0). */
  private readonly out: number;
  private readonly outView: Float32Array;

  constructor(
    mod: KernelModule,
    readonly sizes: readonly number[],
    readonly activations: readonly WasmActivation[],
    readonly maxBatch: number,
  ) {
    let top = 16; // byte 0 stays unused: a bias pointer of 0 means "no bias" to gemm_nn
    const alloc = (floats: number): number => {
      const at = top;
      top += ((floats * 4 + 15) & ~15) || 16;
      return at;
    };
    const P = sizes.slice(1).reduce((n, o, l) => n + sizes[l] * o + o, 0);
    const params = alloc(P);
    const grads = alloc(P);
    let off = 0;
    for (let l = 0; l + 1 < sizes.length; l++) {
      const inDim = sizes[l];
      const outDim = sizes[l + 1];
      const inPad = pad4(inDim);
      const outPad = pad4(outDim);
      const w = params + 4 * off;
      const dw = grads + 4 * off;
      off += inDim * outDim;
      const b = params + 4 * off;
      const db = grads + 4 * off;
      off += outDim;
      this.layers.push({
        inDim,
        outDim,
        inPad,
        outPad,
        w,
        b,
        dw,
        db,
        wt: alloc(inDim * outPad),
        wp: alloc(outDim * inPad),
        bp: alloc(outPad),
        gw: alloc(inPad * outPad),
        gb: alloc(outPad),
        act: alloc(maxBatch * outPad),
        delta: alloc(maxBatch * outPad),
      });
    }
    const in0 = sizes[0];
    const last = this.layers[this.layers.length - 1];
    this.input = alloc(maxBatch * pad4(in0));
    this.dInput = alloc(maxBatch * pad4(in0));
    this.stage = alloc(maxBatch * Math.max(in0, last.outDim));
    this.out = last.outDim === last.outPad ? last.act : alloc(maxBatch * last.outDim);
    // Fresh memory is zero, which is what every padded region must hold.
    ({ memory: this.memory, kernels: this.k, f32: this.f32 } = instantiateKernels(mod, top));
    this.params = this.f32.subarray(params / 4, params / 4 + P);
    this.grads = this.f32.subarray(grads / 4, grads / 4 + P);
    this.outView = this.f32.subarray(this.out / 4, this.out / 4 + maxBatch * last.outDim);
  }

  /** Forward over the first `batch` rows of x (dense [batch][sizes[0]]); returns the dense output view. */
  forward(x: Float32Array, batch: number): Float32Array {
    const { k, f32 } = this;
    const in0 = this.sizes[0];
    const inPad0 = pad4(in0);
    copyIn(x, batch * in0, f32, (in0 === inPad0 ? this.input : this.stage) / 4);
    if (in0 !== inPad0) k.copy_rows(this.stage, in0, batch, in0, this.input, inPad0);
    let a = this.input;
    let lda = inPad0;
    for (let l = 0; l < this.layers.length; l++) {
      const L = this.layers[l];
      // Repacked every pass: callers may write `params` at any time (Adam, averaging, checkpoints).
      k.transpose(L.w, L.inDim, L.outDim, L.inDim, L.wt, L.outPad);
      k.copy_rows(L.b, L.outDim, 1, L.outDim, L.bp, L.outPad);
      const act = this.activations[l];
      k.gemm_nn(a, lda, L.wt, L.outPad, L.act, L.outPad, batch, L.inDim, L.outPad, L.bp, act === 'relu' ? 1 : 0);
      if (act === 'tanh') {
        // No SIMD tanh: Math.tanh in place (padded zeros stay zero).
        for (let i = L.act / 4, end = i + batch * L.outPad; i < end; i++) f32[i] = Math.tanh(f32[i]);
      }
      a = L.act;
      lda = L.outPad;
    }
    const last = this.layers[this.layers.length - 1];
    if (this.out !== last.act) k.copy_rows(last.act, last.outPad, batch, last.outDim, this.out, last.outDim);
    return this.outView;
  }

  /**
   * Backward for the last forward of `batch` rows: dOut is dLoss/dOutput (dense). Overwrites
   * `grads`; writes dLoss/dInput (dense) into dInput when given.
   */
  backward(dOut: Float32Array, batch: number, dInput: Float32Array | null): void {
    const { k, f32, layers } = this;
    const top = layers[layers.length - 1];
    copyIn(dOut, batch * top.outDim, f32, (top.outDim === top.outPad ? top.delta : this.stage) / 4);
    if (top.outDim !== top.outPad) k.copy_rows(this.stage, top.outDim, batch, top.outDim, top.delta, top.outPad);
    for (let l = layers.length - 1; l >= 0; l--) {
      const L = layers[l];
      const act = this.activations[l];
      if (act === 'relu') k.relu_mask(L.delta, L.act, batch * L.outPad);
      else if (act === 'tanh') k.tanh_grad(L.delta, L.act, batch * L.outPad);
      k.colsum(L.delta, L.outPad, batch, L.outPad, L.gb);
      k.copy_rows(L.gb, L.outPad, 1, L.outDim, L.db, L.outDim);
      const x = l === 0 ? this.input : layers[l - 1].act;
      if (L.outPad >= L.inPad) {
        // gw = x^T dz, [inPad][outPad]: the wider output side runs along the vectors.
        k.gemm_tn(x, L.inPad, L.delta, L.outPad, L.gw, L.outPad, L.inPad, batch, L.outPad);
        k.transpose(L.gw, L.outPad, L.inDim, L.outDim, L.dw, L.inDim);
      } else {
        // gw = dz^T x, [outPad][inPad].
        k.gemm_tn(L.delta, L.outPad, x, L.inPad, L.gw, L.inPad, L.outPad, batch, L.inPad);
        k.copy_rows(L.gw, L.inPad, L.outDim, L.inDim, L.dw, L.inDim);
      }
      if (l > 0 || dInput !== null) {
        k.copy_rows(L.w, L.inDim, L.outDim, L.inDim, L.wp, L.inPad);
        const dst = l > 0 ? layers[l - 1].delta : this.dInput;
        k.gemm_nn(L.delta, L.outPad, L.wp, L.inPad, dst, L.inPad, batch, L.outDim, L.inPad, 0, 0);
      }
    }
    if (dInput !== null) {
      const in0 = this.sizes[0];
      const inPad0 = pad4(in0);
      let src = this.dInput;
      if (in0 !== inPad0) {
        k.copy_rows(this.dInput, inPad0, batch, in0, this.stage, in0);
        src = this.stage;
      }
      for (let i = 0, j = src / 4, n = batch * in0; i < n; i++, j++) dInput[i] = f32[j];
    }
  }
}

/** dst[at, at + n) = src[0, n): a memcpy when src is exactly n long, else a loop (no subarray: no per-step allocation). */
function copyIn(src: Float32Array, n: number, dst: Float32Array, at: number): void {
  if (src.length === n) dst.set(src, at);
  else for (let i = 0; i < n; i++) dst[at + i] = src[i];
}
