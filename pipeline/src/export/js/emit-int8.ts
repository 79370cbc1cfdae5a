/**
 * QuantizedPolicy -> standalone int8 ES module. It runs the int8 plan (quant/plan.ts) with the
 * ops' exact semantics (quant/ops/): float32 normalization, QUANTIZE by float32 reciprocal (to int8,
 * or to a wider integer for a wide-input policy: see QuantizedPolicy.inputBits), integer
 * accumulation, requantization q = clamp(rint(float32(float32(acc) * m)) + zp), lookup tables for
 * tanh / sigmoid, DEQUANTIZE, float32 head. So it is bit-identical to forwardInt8, the int8 ONNX in
 * onnxruntime and the int8 TFLite in LiteRT.
 *
 * Speed: every constant is baked in, buffers are allocated once at module scope, loops are
 * specialized per layer (short rows fully unrolled, long ones with four exact accumulators: the
 * sums are integers far below 2^53, so any order gives the same result). Integer codes are held in
 * Float64Array so the hot loop is plain double arithmetic.
 */
import { squashConstants } from '../../ir/forward.js';
import { planInt8, type Int8LayerPlan } from '../../quant/plan.js';
import type { QuantizedPolicy } from '../../quant/types.js';
import { DECODERS, base64Float32, base64Int8, jsLiteral, jsNumber } from './literal.js';
import { compiledMetadata, type SpaceOverrides } from './metadata.js';

const f = Math.fround;
/** Below this |acc| float32(acc) == acc, so the generated code skips the conversion. */
const F32_EXACT_INT = 2 ** 24;
const UNROLL_MAX = 8;

export type CompileJsOptions = SpaceOverrides;

/** ` + 3`, ` - 3` or nothing. */
const plus = (n: number): string => (n > 0 ? ` + ${n}` : n < 0 ? ` - ${-n}` : '');

function dot(i: number, n: number): string[] {
  const term = (k: string) => `x[${k}] * W${i}[o + ${k}]`;
  if (n <= UNROLL_MAX) {
    const terms = Array.from({ length: n }, (_, k) => `x[${k}] * W${i}[o${k ? ` + ${k}` : ''}]`);
    return [`const a = K${i}[c] + ${terms.join(' + ')};`];
  }
  const n4 = n - (n % 4);
  const rest = Array.from({ length: n % 4 }, (_, j) => ` + ${term(String(n4 + j))}`).join('');
  return [
    `let a0 = K${i}[c], a1 = 0, a2 = 0, a3 = 0;`,
    `for (let k = 0; k < ${n4}; k += 4) {`,
    `  a0 += ${term('k')}; a1 += ${term('k + 1')}; a2 += ${term('k + 2')}; a3 += ${term('k + 3')};`,
    `}`,
    `const a = a0 + a1 + a2 + a3${rest};`,
  ];
}

function layer(i: number, p: Int8LayerPlan): string[] {
  const acc = p.accBound < F32_EXACT_INT ? 'a' : 'fr(a)';
  const sat = `r < ${p.actMin} ? ${p.actMin} : r > ${p.actMax} ? ${p.actMax} : r`;
  return [
    `// layer ${i}: ${p.inDim} -> ${p.outDim}${p.lut ? ' + table' : p.actMin > -128 ? ' (relu)' : ''}`,
    `function L${i}(x, y) {`,
    `  for (let c = 0, o = 0; c < ${p.outDim}; c++, o += ${p.inDim}) {`,
    ...dot(i, p.inDim).map((l) => `    ${l}`),
    `    const r = fr(${acc} * M${i}[c]) + R - R${plus(p.outZeroPoint)};`,
    `    y[c] = ${p.lut ? `T${i}[(${sat}) + 128]` : sat};`,
    `  }`,
    `}`,
  ];
}

/** Source of the int8 compiled module for `qp`. */
export function emitInt8Module(qp: QuantizedPolicy, opts: CompileJsOptions = {}): string {
  const model = qp.model;
  const plan = planInt8(qp);
  const md = compiledMetadata(model, 'int8', opts);
  const d = model.obsDim;
  const L = plan.layers.length;
  const outDim = md.outDim;
  const h = model.head;
  const out: string[] = [
    `// edgedistill int8 policy${model.envId ? ` for ${model.envId}` : ''} (${[d, ...plan.layers.map((l) => l.outDim)].join('-')}), generated. Same integers as the int8 ONNX/TFLite.`,
    '// forward() returns a new Float32Array; forwardInto(obs, out) and act() (discrete) allocate nothing.',
    `export const metadata = ${jsLiteral(md)};`,
    DECODERS,
    'const fr = Math.fround, R = 6755399441055744; // x + R - R rounds half to even (|x| < 2^51)',
  ];
  plan.layers.forEach((p, i) => {
    const consts = [`W${i} = I8('${base64Int8(p.weight)}')`, `K${i} = new Float64Array(${jsLiteral(p.foldedBias)})`, `M${i} = F32('${base64Float32(p.multipliers)}')`];
    if (p.lut) consts.push(`T${i} = I8('${base64Int8(p.lut)}')`);
    out.push(`const ${consts.join(', ')};`);
  });
  out.push(`const ${[d, ...plan.layers.map((l) => l.outDim)].map((n, i) => `X${i} = new Float64Array(${n})`).join(', ')};`);

  // Input: float32 normalization, QUANTIZE.
  const norm = model.obsNorm;
  let v = 'fr(o[i])';
  if (norm) {
    out.push(`const MU = F32('${base64Float32(norm.mean)}'), SD = F32('${base64Float32(norm.std)}');`);
    v = `fr(fr(${v} - MU[i]) / SD[i])`;
  }
  const clip = norm && norm.clip !== null ? jsNumber(f(norm.clip)) : null;
  out.push(
    'function Q(o) {',
    `  for (let i = 0; i < ${d}; i++) {`,
    `    let v = ${v};`,
    ...(clip ? [`    v = v < -${clip} ? -${clip} : v > ${clip} ? ${clip} : v;`] : []),
    `    const r = fr(v * ${jsNumber(plan.inputInvScale)}) + R - R${plus(plan.input.zeroPoint)};`,
    `    X0[i] = r < ${plan.inputMin} ? ${plan.inputMin} : r > ${plan.inputMax} ? ${plan.inputMax} : r;`,
    '  }',
    '}',
  );
  plan.layers.forEach((p, i) => out.push(...layer(i, p)));
  out.push('function run(o) {', '  Q(o);', ...plan.layers.map((_, i) => `  L${i}(X${i}, X${i + 1});`), '}');

  // Output: DEQUANTIZE and the float32 head.
  const s = jsNumber(plan.output.scale);
  const z = plan.output.zeroPoint;
  const y = `X${L}`;
  const fwd = ['export function forwardInto(obs, out) {', '  run(obs);'];
  if (h.kind === 'discrete') {
    fwd.push(`  for (let c = 0; c < ${outDim}; c++) out[c] = fr((${y}[c]${plus(-z)}) * ${s});`);
  } else {
    const sq = h.squash === 'tanh' ? squashConstants(h) : null;
    out.push(`const LO = ${jsLiteral(Array.from(h.low))}, HI = ${jsLiteral(Array.from(h.high))};`);
    if (sq) out.push(`const SC = ${jsLiteral(Array.from(sq.scale))}, OF = ${jsLiteral(Array.from(sq.offset))};`);
    fwd.push(`  for (let c = 0; c < ${outDim}; c++) {`, `    let v = fr((${y}[c]${plus(-z)}) * ${s});`);
    if (sq) fwd.push('    v = fr(fr(fr(Math.tanh(v)) * SC[c]) + OF[c]);');
    fwd.push('    out[c] = Math.max(Math.min(v, HI[c]), LO[c]);', '  }');
  }
  fwd.push('  return out;', '}');
  out.push(...fwd);
  out.push(`export function forward(obs) {`, `  return forwardInto(obs, new Float32Array(${outDim}));`, '}');
  if (h.kind === 'discrete') {
    const start = md.actionSpace.kind === 'discrete' ? (md.actionSpace.start ?? 0) : 0;
    // Dequantization is monotonic, so the largest int8 code is the largest output (first one wins).
    out.push(
      'export function act(obs) {',
      '  run(obs);',
      `  let b = 0, v = ${y}[0];`,
      `  for (let c = 1; c < ${outDim}; c++) if (${y}[c] > v) { v = ${y}[c]; b = c; }`,
      `  return ${start ? `${start} + ` : ''}b;`,
      '}',
    );
  } else {
    out.push('export function act(obs) {', '  return forward(obs);', '}');
  }
  return `${out.join('\n')}\n`;
}
