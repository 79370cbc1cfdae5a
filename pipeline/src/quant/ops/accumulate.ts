/**
 * The integer core of an int8 FULLY_CONNECTED / QGemm row: acc = bias + sum_k (x[k] - inZp) * w[k].
 * Weights are symmetric (zero point 0). Exact in double (far below 2^53); kernels keep it in int32,
 * which `biasWithZeroPoint` lets generated code do in one multiply-add per weight.
 */
export function accumulate(
  bias: number,
  x: ArrayLike<number>,
  inZeroPoint: number,
  weight: ArrayLike<number>,
  offset: number,
  inDim: number,
): number {
  let acc = bias;
  for (let k = 0; k < inDim; k++) acc += (x[k] - inZeroPoint) * weight[offset + k];
  return acc;
}

/** bias - inZp * sum_k w[k]: the folded form, so acc = that + sum_k x[k] * w[k]. */
export function biasWithZeroPoint(bias: number, inZeroPoint: number, weight: ArrayLike<number>, offset: number, inDim: number): number {
  let s = 0;
  for (let k = 0; k < inDim; k++) s += weight[offset + k];
  return bias - inZeroPoint * s;
}
