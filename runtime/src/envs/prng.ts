/**
 * NumPy's default generator, bit for bit: `np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))`,
 * which is what Gymnasium's `env.reset(seed=...)` builds. Only what the environments need is here:
 * SeedSequence (pool size 4, no spawn key), PCG64 (128-bit LCG, XSL-RR output, step-then-output),
 * `random()` (53-bit double) and `uniform(low, high)`.
 *
 * 128-bit arithmetic uses eight 16-bit limbs held in plain numbers, so every partial product and sum
 * stays below 2^53 and no BigInt (and no allocation) is needed per draw.
 */

const MASK32 = 0xffffffff;

// SeedSequence constants (numpy/random/bit_generator.pyx, after M.E. O'Neill's seed_seq_fe).
const INIT_A = 0x43b0d7e5;
const MULT_A = 0x931e8875;
const INIT_B = 0x8b51f9dd;
const MULT_B = 0x58f38ded;
const MIX_MULT_L = 0xca01f9dd;
const MIX_MULT_R = 0x4973f715;
const POOL_SIZE = 4;

/** Splits a non-negative integer into 32-bit words, least significant first (NumPy's coercion of an int). */
export function seedToWords(seed: number | bigint): number[] {
  let v = BigInt(seed);
  if (v < 0n) throw new RangeError(`seed must be non-negative, got ${seed}`);
  if (v === 0n) return [0];
  const words: number[] = [];
  while (v > 0n) {
    words.push(Number(v & 0xffffffffn));
    v >>= 32n;
  }
  return words;
}

/** NumPy's SeedSequence: entropy words -> a 4-word pool -> any number of 32-bit state words. */
export class SeedSequence {
  readonly pool: Uint32Array;

  constructor(entropy: number | bigint | readonly number[]) {
    const words = typeof entropy === 'object' ? [...entropy] : seedToWords(entropy);
    this.pool = mixEntropy(words);
  }

  /** `generate_state(nWords, np.uint32)`. */
  generateState32(nWords: number): Uint32Array {
    const out = new Uint32Array(nWords);
    let hashConst = INIT_B;
    for (let i = 0; i < nWords; i++) {
      let v = this.pool[i % POOL_SIZE] ^ hashConst;
      hashConst = Math.imul(hashConst, MULT_B) >>> 0;
      v = Math.imul(v, hashConst) >>> 0;
      v = (v ^ (v >>> 16)) >>> 0;
      out[i] = v;
    }
    return out;
  }
}

function mixEntropy(entropy: readonly number[]): Uint32Array {
  const pool = new Uint32Array(POOL_SIZE);
  let hashConst = INIT_A;
  const hashmix = (value: number): number => {
    let v = (value ^ hashConst) >>> 0;
    hashConst = Math.imul(hashConst, MULT_A) >>> 0;
    v = Math.imul(v, hashConst) >>> 0;
    return (v ^ (v >>> 16)) >>> 0;
  };
  const mix = (x: number, y: number): number => {
    let r = (Math.imul(MIX_MULT_L, x) - Math.imul(MIX_MULT_R, y)) >>> 0;
    return (r ^ (r >>> 16)) >>> 0;
  };
  for (let i = 0; i < POOL_SIZE; i++) pool[i] = hashmix(i < entropy.length ? entropy[i] >>> 0 : 0);
  for (let src = 0; src < POOL_SIZE; src++) {
    for (let dst = 0; dst < POOL_SIZE; dst++) {
      if (src !== dst) pool[dst] = mix(pool[dst], hashmix(pool[src]));
    }
  }
  for (let src = POOL_SIZE; src < entropy.length; src++) {
    for (let dst = 0; dst < POOL_SIZE; dst++) pool[dst] = mix(pool[dst], hashmix(entropy[src] >>> 0));
  }
  return pool;
}

// PCG_DEFAULT_MULTIPLIER_128 = 0x2360ed051fc65da4_4385df649fccf645, as 16-bit limbs, least significant first.
const MUL = [0xf645, 0x9fcc, 0xdf64, 0x4385, 0x5da4, 0x1fc6, 0xed05, 0x2360];

/** Sets 8 little-endian 16-bit limbs from two 64-bit halves given as 32-bit words (hi64 = [h1,h0], lo64 = [l1,l0]). */
function limbsFrom32(out: Float64Array, off: number, w0: number, w1: number, w2: number, w3: number): void {
  // w0 is the least significant 32-bit word.
  out[off] = w0 & 0xffff;
  out[off + 1] = w0 >>> 16;
  out[off + 2] = w1 & 0xffff;
  out[off + 3] = w1 >>> 16;
  out[off + 4] = w2 & 0xffff;
  out[off + 5] = w2 >>> 16;
  out[off + 6] = w3 & 0xffff;
  out[off + 7] = w3 >>> 16;
}

/**
 * PCG64 (XSL-RR 128/64) as NumPy seeds it from a SeedSequence. State and increment are eight 16-bit
 * limbs each, in one Float64Array (state at 0..7, inc at 8..15).
 */
export class PCG64 {
  private readonly s = new Float64Array(16);
  private readonly t = new Float64Array(8);

  constructor(seed: number | bigint | readonly number[] | SeedSequence) {
    const ss = seed instanceof SeedSequence ? seed : new SeedSequence(seed);
    // generate_state(4, uint64) = 8 uint32 words viewed as 4 little-endian uint64 values v0..v3;
    // initstate = v0 << 64 | v1, initseq = v2 << 64 | v3 (PCG_128BIT_CONSTANT(high, low)).
    const w = ss.generateState32(8);
    const initState = new Float64Array(8);
    const initSeq = new Float64Array(8);
    limbsFrom32(initState, 0, w[2], w[3], w[0], w[1]);
    limbsFrom32(initSeq, 0, w[6], w[7], w[4], w[5]);
    // pcg_setseq_128_srandom_r: state = 0; inc = initseq << 1 | 1; step; state += initstate; step.
    const s = this.s;
    let carry = 1;
    for (let k = 0; k < 8; k++) {
      const v = initSeq[k] * 2 + carry;
      carry = v >= 0x10000 ? 1 : 0;
      s[8 + k] = v - carry * 0x10000;
      s[k] = 0;
    }
    this.advance();
    carry = 0;
    for (let k = 0; k < 8; k++) {
      const v = s[k] + initState[k] + carry;
      carry = v >= 0x10000 ? 1 : 0;
      s[k] = v - carry * 0x10000;
    }
    this.advance();
  }

  /** state = state * MUL + inc (mod 2^128). */
  private advance(): void {
    const s = this.s;
    const t = this.t;
    for (let k = 0; k < 8; k++) {
      let acc = s[8 + k];
      for (let i = 0; i <= k; i++) acc += s[i] * MUL[k - i];
      t[k] = acc;
    }
    let carry = 0;
    for (let k = 0; k < 8; k++) {
      const v = t[k] + carry;
      carry = Math.floor(v / 0x10000);
      s[k] = v - carry * 0x10000;
    }
  }

  /** Next 64-bit output as [hi32, lo32] written to `out`. */
  next64(out: Uint32Array): void {
    this.advance();
    const s = this.s;
    const hi = ((s[7] << 16) | s[6]) ^ ((s[3] << 16) | s[2]);
    const lo = ((s[5] << 16) | s[4]) ^ ((s[1] << 16) | s[0]);
    const rot = s[7] >>> 10; // top 6 bits of the 128-bit state
    let h = hi >>> 0;
    let l = lo >>> 0;
    if (rot >= 32) {
      const tmp = h;
      h = l;
      l = tmp;
    }
    const r = rot & 31;
    if (r !== 0) {
      const nh = ((h >>> r) | (l << (32 - r))) >>> 0;
      const nl = ((l >>> r) | (h << (32 - r))) >>> 0;
      h = nh;
      l = nl;
    }
    out[0] = h;
    out[1] = l;
  }

  private readonly w = new Uint32Array(2);

  /** `Generator.random()`: (next_uint64 >> 11) * 2^-53. */
  nextDouble(): number {
    this.next64(this.w);
    return (this.w[0] * 2097152 + (this.w[1] >>> 11)) * 1.1102230246251565e-16;
  }

  /** The 128-bit state and increment, as NumPy prints them in `bit_generator.state`. */
  stateBigInt(): { state: bigint; inc: bigint } {
    const toBig = (off: number) => {
      let v = 0n;
      for (let k = 7; k >= 0; k--) v = (v << 16n) | BigInt(this.s[off + k]);
      return v;
    };
    return { state: toBig(0), inc: toBig(8) };
  }
}

/** The subset of `numpy.random.Generator` the environments use. */
export class NumpyGenerator {
  readonly bitGenerator: PCG64;

  constructor(seed: number | bigint | readonly number[] | SeedSequence) {
    this.bitGenerator = new PCG64(seed);
  }

  /** Uniform double in [0, 1). */
  random(): number {
    return this.bitGenerator.nextDouble();
  }

  /** `Generator.uniform(low, high)`: low + (high - low) * random(). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.bitGenerator.nextDouble();
  }
}

/** Seed from OS entropy, as `np.random.SeedSequence()` does when no seed is given (128 bits). */
export function entropySeed(): number[] {
  const words = new Uint32Array(4);
  globalThis.crypto.getRandomValues(words);
  return [...words];
}
