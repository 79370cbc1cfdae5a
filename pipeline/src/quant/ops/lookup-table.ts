/**
 * int8 TANH / LOGISTIC as a 256-entry table (index q + 128), built the way the kernels build it:
 * dequantize each code, apply the float function (rounded to float32), requantize with the output
 * parameters (TANH 1/128, 0; LOGISTIC 1/256, -128). Every exporter ships this table (TFLite and
 * LiteRT rebuild the same one; the ONNX, JS and C artifacts embed it), so no float tanh differs.
 */
import { INT8_MAX, INT8_MIN, clamp } from './clamp.js';
import { roundHalfAway } from './round-half-away.js';
import { roundHalfEven } from './round-half-even.js';

const f = Math.fround;

export interface QuantParams {
  readonly scale: number;
  readonly zeroPoint: number;
}

/** The float function of a table: tanh, or the logistic computed as e / (1 + e) (XNNPACK's form). */
export function tableFunction(kind: 'tanh' | 'sigmoid', x: number): number {
  if (kind === 'tanh') return f(Math.tanh(x));
  if (x > 100) return 1;
  if (x < -100) return 0;
  const e = Math.exp(x);
  return f(e / (1 + e));
}

/** `rounding`: 'even' (float32 multiply, XNNPACK) or 'away' (divide, round half away: gemmlowp). */
export function lookupTable(kind: 'tanh' | 'sigmoid', input: QuantParams, output: QuantParams, rounding: 'even' | 'away' = 'even'): Int8Array {
  const lut = new Int8Array(256);
  const inv = f(1 / output.scale);
  for (let q = INT8_MIN; q <= INT8_MAX; q++) {
    const x = f(f(q - input.zeroPoint) * input.scale);
    const y = tableFunction(kind, x);
    const r = rounding === 'even' ? roundHalfEven(f(f(y * inv) + output.zeroPoint)) : roundHalfAway(y / output.scale) + output.zeroPoint;
    lut[q + 128] = clamp(r, INT8_MIN, INT8_MAX);
  }
  return lut;
}
