/**
 * The compiled JS module contract: what the pipeline's code generator emits and the `js` backend
 * loads. One standalone ES module (`.mjs`), no imports of any kind, exporting:
 *
 * ```js
 * export const metadata = {
 *   format: 'edgedistill.compiled/1', variant: 'fp32', envId: 'CartPole-v1',
 *   obsDim: 4, outDim: 2, outputName: 'logits',
 *   observationSpace: { shape: [4], low: [...], high: [...] },   // Infinity allowed
 *   actionSpace: { kind: 'discrete', n: 2, start: 0 },           // or { kind: 'box', shape, low, high }
 *   card: { ... },
 * };
 * export function forward(obs) { ... return new Float32Array(outDim); }  // raw outputs, caller owns it
 * export function act(obs) { ... }  // start + argmax (first max wins), or forward clipped to [low, high]
 * ```
 *
 * `forward` takes any `ArrayLike<number>` of `obsDim` raw observations (normalisation is inside)
 * and returns a new Float32Array of `outDim` values. `act` must agree with the runtime's decoding of
 * `forward` (checked once at load on a probe observation). The runtime validates observations
 * before calling either, so generated code need not.
 */
import type { BoxSpace, DiscreteSpace } from '../envs/types.js';
import { EdgeDistillError, type ErrorDetail } from '../errors.js';
import { parseActionSpace, parseBox } from './metadata.js';

export const COMPILED_FORMAT = 'edgedistill.compiled/1';

/** A box space as a module writes it: plain arrays (or typed arrays), `Infinity` allowed. */
export interface CompiledBoxJson {
  readonly kind?: 'box';
  readonly shape: readonly number[];
  readonly low: ArrayLike<number>;
  readonly high: ArrayLike<number>;
}

export interface CompiledModuleMetadata {
  /** Contract version; the runtime refuses others. */
  readonly format: typeof COMPILED_FORMAT;
  /** `int8`: weights quantized (the module computes exactly what the int8 ONNX/TFLite do). */
  readonly variant: 'fp32' | 'int8';
  /** Gymnasium env id, or null. */
  readonly envId: string | null;
  /** Observation length. */
  readonly obsDim: number;
  /** Length of `forward`'s output. */
  readonly outDim: number;
  /** What `forward` returns: `logits` / `q_values` (discrete) or `action` (continuous). */
  readonly outputName: 'logits' | 'q_values' | 'action';
  readonly observationSpace: CompiledBoxJson;
  readonly actionSpace: { readonly kind: 'discrete'; readonly n: number; readonly start?: number } | (CompiledBoxJson & { readonly kind: 'box' });
  /** Model card (provenance). */
  readonly card: Readonly<Record<string, unknown>>;
}

export interface CompiledPolicyModule {
  readonly metadata: CompiledModuleMetadata;
  forward(obs: ArrayLike<number>): Float32Array;
  act(obs: ArrayLike<number>): number | Float32Array;
}

/** The module's spaces, parsed (Float32Array bounds). */
export interface ParsedCompiledModule {
  readonly module: CompiledPolicyModule;
  readonly observationSpace: BoxSpace;
  readonly actionSpace: DiscreteSpace | BoxSpace;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Checks a module namespace against the contract; every violation is listed in the error's
 * `details` (`EdgeDistillError('BAD_MODEL')`).
 */
export function validateCompiledModule(mod: unknown, file?: string): ParsedCompiledModule {
  const problems: ErrorDetail[] = [];
  const add = (field: string, text: string): void => {
    problems.push({ file, field, text });
  };
  const m: Record<string, unknown> = isRecord(mod) ? mod : {};
  if (typeof m.forward !== 'function') add('forward', 'must export function forward(obs): Float32Array');
  if (typeof m.act !== 'function') add('act', 'must export function act(obs): number | Float32Array');
  const md = m.metadata;
  let observationSpace: BoxSpace | undefined;
  let actionSpace: DiscreteSpace | BoxSpace | undefined;
  if (!isRecord(md)) add('metadata', 'must export const metadata = { format, variant, envId, obsDim, outDim, ... }');
  else {
    if (md.format !== COMPILED_FORMAT) add('metadata.format', `must be '${COMPILED_FORMAT}', got ${JSON.stringify(md.format)}`);
    if (md.variant !== 'fp32' && md.variant !== 'int8') add('metadata.variant', `must be 'fp32' or 'int8', got ${JSON.stringify(md.variant)}`);
    if (md.envId !== null && typeof md.envId !== 'string') add('metadata.envId', 'must be a string or null');
    for (const k of ['obsDim', 'outDim'] as const) {
      if (!Number.isInteger(md[k]) || (md[k] as number) < 1) add(`metadata.${k}`, `must be a positive integer, got ${JSON.stringify(md[k])}`);
    }
    if (md.outputName !== 'logits' && md.outputName !== 'q_values' && md.outputName !== 'action') {
      add('metadata.outputName', `must be 'logits', 'q_values' or 'action', got ${JSON.stringify(md.outputName)}`);
    }
    if (!isRecord(md.card)) add('metadata.card', 'must be an object');
    try {
      observationSpace = parseBox(md.observationSpace, 'metadata.observationSpace', file, null);
      if (Number.isInteger(md.obsDim) && observationSpace.low.length !== md.obsDim) {
        add('metadata.observationSpace', `has ${observationSpace.low.length} values but obsDim is ${String(md.obsDim)}`);
      }
    } catch (e) {
      add((e as EdgeDistillError).field ?? 'metadata.observationSpace', (e as Error).message);
    }
    try {
      actionSpace = parseActionSpace(md.actionSpace, 'metadata.actionSpace', file, 'BAD_MODEL');
      const size = actionSpace.kind === 'discrete' ? actionSpace.n : actionSpace.low.length;
      if (Number.isInteger(md.outDim) && size !== md.outDim) {
        add('metadata.actionSpace', `needs ${size} outputs but outDim is ${String(md.outDim)}`);
      }
      const discreteOut = md.outputName === 'logits' || md.outputName === 'q_values';
      if (md.outputName !== undefined && discreteOut !== (actionSpace.kind === 'discrete')) {
        add('metadata.outputName', `'${String(md.outputName)}' does not fit a ${actionSpace.kind} action space`);
      }
    } catch (e) {
      add((e as EdgeDistillError).field ?? 'metadata.actionSpace', (e as Error).message);
    }
  }
  if (problems.length > 0 || !observationSpace || !actionSpace) {
    throw new EdgeDistillError(
      'BAD_MODEL',
      `not an edgedistill compiled module (${problems.length} problem${problems.length === 1 ? '' : 's'})`,
      { file, details: problems, suggestion: 're-export it with `edgedistill export --format js`' },
    );
  }
  return { module: mod as CompiledPolicyModule, observationSpace, actionSpace };
}

/** Blanks comments out (keeping line breaks), naively: enough for code we generate. */
function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' ')).replace(/(^|[^:\\])\/\/.*$/gm, '$1');
}

/**
 * Refuses modules that import anything (static `import`, `export ... from`, dynamic `import()`,
 * `require()`): a compiled policy must run from a bundle with nothing else installed.
 */
export function checkStandaloneSource(source: string, file?: string): void {
  const code = stripComments(source);
  const rules: [RegExp, string][] = [
    [/^\s*import\s*(?:[\w$*{}\s,]+\s*from\s*)?['"]/m, 'a static import'],
    [/^\s*export\s+(?:\*(?:\s+as\s+[\w$]+)?|\{[^}]*\})\s*from\s*['"]/m, 'a re-export from another module'],
    [/(?<![\w$.])import\s*\(/, 'a dynamic import()'],
    [/(?<![\w$.])require\s*\(/, 'a require() call'],
  ];
  for (const [re, what] of rules) {
    const match = re.exec(code);
    if (match) {
      const at = match.index + match[0].length - match[0].trimStart().length;
      const line = code.slice(0, at).split('\n').length;
      throw new EdgeDistillError('BAD_MODEL', `a compiled policy module must be standalone, but it has ${what}`, {
        file,
        field: `line ${line}`,
        suggestion: 're-export it with `edgedistill export --format js`',
      });
    }
  }
}
