/**
 * QuantizedPolicy -> dependency-free C99 (`policy.h`, `policy.c`): const weights, no malloc, no
 * globals written (activations live on the stack, so calls are reentrant). It runs the int8 plan
 * (quant/plan.ts) with the ops' semantics (quant/ops/), bit for bit what the JS int8 module, the
 * int8 ONNX and the int8 TFLite compute:
 *   float normalization -> q = clamp(rint(float(v * inv)) + zp) (int8, or int16 holding a wide
 *   input's 12-bit codes) -> int32 accumulate ->
 *   clamp(rint((float)acc * m) + zp) [-> table] -> float((q - zp) * s) -> float head.
 *
 * float arithmetic must be IEEE single precision: FLT_EVAL_METHOD 0 (x86-64 SSE, ARM, RISC-V; the
 * file refuses to compile otherwise), no -ffast-math, no FMA contraction (-ffp-contract=off is
 * GCC's default under -std=c99). Rounding half to even uses the 1.5 * 2^23 trick, so discrete
 * policies need no libm; a tanh-squashed continuous head calls tanh() from <math.h> (link -lm).
 */
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { squashConstants } from '../../ir/forward.js';
import { planInt8, type Int8LayerPlan } from '../../quant/plan.js';
import type { QuantizedPolicy } from '../../quant/types.js';

export interface CSources {
  readonly header: string;
  readonly source: string;
}

export interface EmitCOptions {
  /** Name of the header the .c includes (default `policy.h`). */
  readonly headerName?: string;
  /** Discrete action offset (the action space's `start`, default 0). */
  readonly actionStart?: number;
}

const INT32_MAX = 2147483647;
const plus = (n: number): string => (n > 0 ? ` + ${n}` : n < 0 ? ` - ${-n}` : '');

/** A float32 value as an exact C float literal (the shortest double text is the value itself). */
export function cFloat(v: number): string {
  if (!Number.isFinite(v)) throw new EdgeDistillError('BAD_MODEL', `cannot write ${v} as a C float constant`, { field: 'constant' });
  const s = String(Math.fround(v));
  return `${/[.e]/.test(s) ? s : `${s}.0`}f`;
}

function rows(values: ArrayLike<number>, per: number, fmt: (v: number) => string, indent = '  '): string {
  const out: string[] = [];
  for (let i = 0; i < values.length; i += per) {
    out.push(indent + Array.from({ length: Math.min(per, values.length - i) }, (_, j) => fmt(values[i + j])).join(', '));
  }
  return out.join(',\n');
}

/** `span`: the largest |x| of the layer's input codes (128 for int8, more for a wide first layer). */
function checkLayer(i: number, p: Int8LayerPlan, span: number): void {
  let worst = 0;
  for (let c = 0; c < p.outDim; c++) {
    let s = 0;
    for (let k = 0; k < p.inDim; k++) s += Math.abs(p.weight[c * p.inDim + k]);
    worst = Math.max(worst, Math.abs(p.foldedBias[c]) + span * s);
  }
  if (worst > INT32_MAX) {
    throw new EdgeDistillError('UNSUPPORTED', `layer ${i} may overflow an int32 accumulator (bound ${worst})`, {
      field: `layers.${i}.bias`,
      suggestion: 'calibrate on more varied observations (the input scale is too small for this bias)',
    });
  }
}

export function emitC(qp: QuantizedPolicy, opts: EmitCOptions = {}): CSources {
  const model = qp.model;
  const plan = planInt8(qp);
  const wide = plan.inputBits !== 8;
  plan.layers.forEach((p, i) => checkLayer(i, p, i === 0 ? Math.max(-plan.inputMin, plan.inputMax) : 128));
  const d = model.obsDim;
  const L = plan.layers.length;
  const outDim = plan.layers[L - 1].outDim;
  const h = model.head;
  const discrete = h.kind === 'discrete';
  const shape = [d, ...plan.layers.map((l) => l.outDim)].join('-');
  const headerName = opts.headerName ?? 'policy.h';
  const needsTanh = h.kind === 'continuous' && h.squash === 'tanh';

  const header = `/* edgedistill int8 policy${model.envId ? ` for ${model.envId}` : ''} (${shape}), generated: do not edit.
 * C99, no dependencies, no malloc, reentrant. Same integers as the int8 ONNX / TFLite / JS artifacts.
 * Build with IEEE float maths: no -ffast-math, no FMA contraction (GCC's default with -std=c99).${needsTanh ? '\n * Link with -lm (the tanh-squashed head calls tanh()).' : ''}
 */
#ifndef EDGEDISTILL_POLICY_H
#define EDGEDISTILL_POLICY_H
#ifdef __cplusplus
extern "C" {
#endif

#define POLICY_OBS_DIM ${d}
#define POLICY_OUT_DIM ${outDim}
#define POLICY_DISCRETE ${discrete ? 1 : 0}

/* ${discrete ? `${h.output} for the ${outDim} actions` : `the action (${outDim} values, clipped to the action bounds)`} for one raw observation of POLICY_OBS_DIM values. */
void policy_forward(const float *obs, float *out);
${discrete ? `\n/* The action: ${opts.actionStart ? `${opts.actionStart} + ` : ''}argmax of policy_forward (first maximum wins). */\nint policy_act(const float *obs);\n` : ''}
#ifdef __cplusplus
}
#endif
#endif
`;

  const src: string[] = [
    `/* edgedistill int8 policy (${shape}), generated: do not edit. See ${headerName}. */`,
    `#include "${headerName}"`,
    '#include <float.h>',
    '#include <stdint.h>',
    ...(needsTanh ? ['#include <math.h>'] : []),
    '',
    '#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0',
    '#error "needs IEEE single-precision float arithmetic (FLT_EVAL_METHOD 0): on 32-bit x86 use -msse2 -mfpmath=sse"',
    '#endif',
    '',
  ];
  plan.layers.forEach((p, i) => {
    src.push(`/* layer ${i}: ${p.inDim} -> ${p.outDim} */`);
    src.push(`static const int8_t W${i}[${p.outDim}][${p.inDim}] = {\n${Array.from({ length: p.outDim }, (_, c) => `  {${Array.from(p.weight.subarray(c * p.inDim, (c + 1) * p.inDim)).join(', ')}}`).join(',\n')}\n};`);
    src.push(`static const int32_t K${i}[${p.outDim}] = {\n${rows(p.foldedBias, 12, String)}\n};`);
    src.push(`static const float M${i}[${p.outDim}] = {\n${rows(p.multipliers, 6, cFloat)}\n};`);
    if (p.lut) src.push(`static const int8_t T${i}[256] = {\n${rows(p.lut, 16, String)}\n};`);
  });
  const norm = model.obsNorm;
  if (norm) {
    src.push(`static const float MU[${d}] = {\n${rows(norm.mean, 6, cFloat)}\n};`);
    src.push(`static const float SD[${d}] = {\n${rows(norm.std, 6, cFloat)}\n};`);
  }
  src.push(
    '',
    '/* Round half to even (the FPU default) for |y| <= 512, then add the zero point and saturate. */',
    'static int32_t requantize(float y, int32_t zp, int32_t lo) {',
    '  int32_t r;',
    '  y = y > 512.0f ? 512.0f : (y >= -512.0f ? y : -512.0f); /* also maps NaN to -512 */',
    '  r = (int32_t)((y + 12582912.0f) - 12582912.0f) + zp;',
    '  return r < lo ? lo : (r > 127 ? 127 : r);',
    '}',
    '',
    ...(wide
      ? [
          `/* The ${plan.inputBits}-bit quantized observation: round half to even, saturate to +-${plan.inputMax}. */`,
          'static int32_t quantize_input(float y) {',
          '  int32_t r;',
          `  y = y > ${plan.inputMax + 1}.0f ? ${plan.inputMax + 1}.0f : (y >= ${plan.inputMin - 1}.0f ? y : ${plan.inputMin - 1}.0f); /* also maps NaN to the minimum */`,
          `  r = (int32_t)((y + 12582912.0f) - 12582912.0f)${plus(plan.input.zeroPoint)};`,
          `  return r < ${plan.inputMin} ? ${plan.inputMin} : (r > ${plan.inputMax} ? ${plan.inputMax} : r);`,
          '}',
          '',
        ]
      : []),
  );
  plan.layers.forEach((p, i) => {
    const q = `requantize((float)a * M${i}[c], ${p.outZeroPoint}, ${p.actMin})`;
    src.push(
      `static void layer${i}(const ${i === 0 && wide ? 'int16_t' : 'int8_t'} *x, int8_t *y) {`,
      '  int c, k;',
      `  for (c = 0; c < ${p.outDim}; c++) {`,
      `    int32_t a = K${i}[c];`,
      `    for (k = 0; k < ${p.inDim}; k++) a += (int32_t)x[k] * W${i}[c][k];`,
      `    y[c] = (int8_t)${p.lut ? `T${i}[${q} + 128]` : q};`,
      '  }',
      '}',
      '',
    );
  });
  const clip = norm && norm.clip !== null ? cFloat(norm.clip) : null;
  src.push(
    `static void run(const float *obs, int8_t *y) {`,
    ...(wide
      ? [`  int16_t x0[${d}];`, ...(L > 1 ? [`  int8_t ${plan.layers.slice(0, -1).map((l, i) => `x${i + 1}[${l.outDim}]`).join(', ')};`] : [])]
      : [`  int8_t ${[d, ...plan.layers.slice(0, -1).map((l) => l.outDim)].map((n, i) => `x${i}[${n}]`).join(', ')};`]),
    '  int i;',
    `  for (i = 0; i < ${d}; i++) {`,
    `    float v = ${norm ? '(obs[i] - MU[i]) / SD[i]' : 'obs[i]'};`,
    ...(clip ? [`    v = v < -${clip} ? -${clip} : (v > ${clip} ? ${clip} : v);`] : []),
    wide
      ? `    x0[i] = (int16_t)quantize_input(v * ${cFloat(plan.inputInvScale)});`
      : `    x0[i] = (int8_t)requantize(v * ${cFloat(plan.inputInvScale)}, ${plan.input.zeroPoint}, -128);`,
    '  }',
    ...plan.layers.map((_, i) => `  layer${i}(x${i}, ${i === L - 1 ? 'y' : `x${i + 1}`});`),
    '}',
    '',
  );
  const z = plan.output.zeroPoint;
  const s = cFloat(plan.output.scale);
  const fwd = ['void policy_forward(const float *obs, float *out) {', `  int8_t y[${outDim}];`, '  int c;', '  run(obs, y);'];
  if (h.kind === 'discrete') {
    fwd.push(`  for (c = 0; c < ${outDim}; c++) out[c] = (float)((int32_t)y[c]${plus(-z)}) * ${s};`);
  } else {
    const sq = h.squash === 'tanh' ? squashConstants(h) : null;
    fwd.push(`  for (c = 0; c < ${outDim}; c++) {`, `    float v = (float)((int32_t)y[c]${plus(-z)}) * ${s};`);
    if (sq) {
      src.push(`static const float SC[${outDim}] = {${Array.from(sq.scale, cFloat).join(', ')}};`);
      src.push(`static const float OF[${outDim}] = {${Array.from(sq.offset, cFloat).join(', ')}};`);
      // tanh in double, rounded once to float: what the JS module's Math.fround(Math.tanh(v)) does.
      fwd.push('    v = (float)tanh((double)v) * SC[c];', '    v = v + OF[c];');
    }
    // Infinite bounds are not clipped (a flag per channel when only some are finite).
    for (const [name, bound, cmp] of [['HI', h.high, '>'], ['LO', h.low, '<']] as const) {
      const b = Array.from(bound);
      if (!b.some(Number.isFinite)) continue;
      src.push(`static const float ${name}[${outDim}] = {${b.map((v) => (Number.isFinite(v) ? cFloat(v) : '0.0f')).join(', ')}};`);
      let guard = '';
      if (!b.every(Number.isFinite)) {
        src.push(`static const unsigned char ${name}_SET[${outDim}] = {${b.map((v) => (Number.isFinite(v) ? 1 : 0)).join(', ')}};`);
        guard = `${name}_SET[c] && `;
      }
      fwd.push(`    if (${guard}v ${cmp} ${name}[c]) v = ${name}[c];`);
    }
    fwd.push('    out[c] = v;', '  }');
  }
  fwd.push('}', '');
  src.push(...fwd);
  if (discrete) {
    src.push(
      'int policy_act(const float *obs) {',
      `  int8_t y[${outDim}];`,
      '  int c, best = 0;',
      '  run(obs, y);',
      `  for (c = 1; c < ${outDim}; c++) if (y[c] > y[best]) best = c;`,
      `  return ${opts.actionStart ? `${opts.actionStart} + ` : ''}best;`,
      '}',
      '',
    );
  }
  return { header, source: src.join('\n') };
}
