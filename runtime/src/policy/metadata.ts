/**
 * Policy metadata: the keys our exporters write, how they are read from each place they can live
 * (ONNX metadata_props, TFLite Model.metadata, a compiled module's `metadata` export, a
 * `<file>.meta.json` sidecar), and how a complete {@link PolicyMetadata} is resolved from them, the
 * model's tensor names and shapes, and the caller's `actionSpace`.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { BoxSpace, DiscreteSpace } from '../envs/types.js';
import { EdgeDistillError } from '../errors.js';
import type {
  ActionSpaceSpec,
  ArtifactFormat,
  ArtifactVariant,
  PolicyHeadInfo,
  PolicyMetadata,
} from './types.js';

/**
 * Keys of ONNX `metadata_props`, as pipeline/src/onnx/write.ts writes them (`META` there). JSON
 * keys hold JSON text; infinite bounds are null (or "Infinity"/"-Infinity" strings).
 */
export const METADATA_KEYS = {
  /** Exporter format version (`1`). */
  format: 'edgedistill_format',
  /** Gymnasium env id, e.g. `CartPole-v1`; empty when unknown. */
  envId: 'env_id',
  /** JSON `{kind:'box', shape, low, high}`. */
  observationSpace: 'observation_space',
  /** JSON `{kind:'discrete', n, start}` or `{kind:'box', shape, low, high}`. */
  actionSpace: 'action_space',
  /** JSON: the IR's head, `{kind:'discrete', output, n}` or `{kind:'continuous', dim, squash}`. */
  head: 'head',
  /** JSON model card. */
  card: 'policy_card',
  /** `fp32` | `fp16` | `int8` (not written by the ONNX exporter: QDQ nodes mean int8). */
  variant: 'variant',
  /** Observation length (decimal). */
  obsDim: 'obs_dim',
  /** Name of the output tensor to read (default: the only output, or `logits`/`q_values`/`action`). */
  outputName: 'output_name',
} as const;

/** Also accepted: the same keys namespaced as `edgedistill.<key>` (e.g. `edgedistill.env_id`). */
export const METADATA_KEY_PREFIX = 'edgedistill.';

/** Name of the TFLite Model.metadata entry holding our JSON (pipeline/src/export/tflite/write.ts). */
export const TFLITE_METADATA_NAME = 'edgedistill';

/** Sidecar file next to an artifact: `<artifact>.meta.json`. */
export function sidecarPath(artifactPath: string): string {
  return `${artifactPath}.meta.json`;
}

/** Metadata as found, before validation. `labels` say where each field came from, for errors. */
export interface RawMetadata {
  readonly values: {
    format?: unknown;
    variant?: unknown;
    envId?: unknown;
    obsDim?: unknown;
    outDim?: unknown;
    outputName?: unknown;
    observationSpace?: unknown;
    actionSpace?: unknown;
    head?: unknown;
    card?: unknown;
  };
  readonly labels: Partial<Record<keyof RawMetadata['values'], string>>;
  readonly file: string | undefined;
}

type Field = keyof RawMetadata['values'];
const FIELDS: Field[] = [
  'format',
  'variant',
  'envId',
  'obsDim',
  'outDim',
  'outputName',
  'observationSpace',
  'actionSpace',
  'head',
  'card',
];
const JSON_KEYS = new Set<Field>(['observationSpace', 'actionSpace', 'card']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

/**
 * From a key/value map using {@link METADATA_KEYS} (ONNX metadata_props; TFLite metadata entries;
 * a sidecar written in the same flat form). String values of JSON keys are parsed.
 */
export function metadataFromProps(
  props: Record<string, unknown>,
  file: string | undefined,
  container = 'metadata_props',
): RawMetadata | null {
  const values: RawMetadata['values'] = {};
  const labels: RawMetadata['labels'] = {};
  let any = false;
  for (const f of FIELDS) {
    if (f === 'outDim') continue;
    const key = [METADATA_KEYS[f], METADATA_KEY_PREFIX + METADATA_KEYS[f]].find((k) => k in props);
    if (key === undefined) continue;
    const label = `${container}["${key}"]`;
    let v = props[key];
    if (typeof v === 'string' && (JSON_KEYS.has(f) || (f === 'head' && /^\s*[{[]/.test(v)))) {
      try {
        v = JSON.parse(v);
      } catch (e) {
        throw new EdgeDistillError('BAD_MODEL', `metadata is not valid JSON: ${(e as Error).message}`, {
          file,
          field: label,
        });
      }
    }
    if (f === 'obsDim' && typeof v === 'string') v = Number(v);
    values[f] = v;
    labels[f] = label;
    any = true;
  }
  return any ? { values, labels, file } : null;
}

/**
 * From a structured object: a compiled module's `metadata` export, or a sidecar / TFLite JSON entry
 * in the same form (`{format, variant, envId, obsDim, outDim, outputName, observationSpace,
 * actionSpace, card, head?}`). A flat object of `edgedistill.*` keys is accepted too.
 */
export function metadataFromObject(obj: unknown, file: string | undefined, container: string): RawMetadata | null {
  if (!isRecord(obj)) {
    throw new EdgeDistillError('BAD_MODEL', 'metadata must be a JSON object', { file, field: container });
  }
  if (Object.keys(obj).some((k) => k.startsWith(METADATA_KEY_PREFIX) || k === METADATA_KEYS.format)) {
    return metadataFromProps(obj, file, container);
  }
  const values: RawMetadata['values'] = {};
  const labels: RawMetadata['labels'] = {};
  let any = false;
  for (const f of FIELDS) {
    if (obj[f] === undefined) continue;
    values[f] = obj[f];
    labels[f] = container ? `${container}.${f}` : f;
    any = true;
  }
  return any ? { values, labels, file } : null;
}

/** Reads `<artifact>.meta.json` when it exists. */
export function readSidecar(artifactPath: string): RawMetadata | null {
  const path = sidecarPath(artifactPath);
  if (!existsSync(path)) return null;
  let obj: unknown;
  try {
    obj = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new EdgeDistillError('BAD_MODEL', `sidecar metadata is not valid JSON: ${(e as Error).message}`, {
      file: path,
      cause: e,
    });
  }
  return metadataFromObject(obj, path, '');
}

/** Embedded fields win; the other source fills what is missing. */
export function mergeMetadata(first: RawMetadata | null, second: RawMetadata | null): RawMetadata | null {
  if (!first) return second;
  if (!second) return first;
  const values: RawMetadata['values'] = { ...second.values };
  const labels: RawMetadata['labels'] = {};
  for (const f of FIELDS) {
    if (first.values[f] !== undefined) {
      values[f] = first.values[f];
      labels[f] = first.labels[f];
    } else if (second.values[f] !== undefined) {
      // Name the sidecar file in the label, since `file` of the merge is the artifact.
      labels[f] = `${second.file ?? ''}: ${second.labels[f] ?? f}`;
    }
  }
  return { values, labels, file: first.file };
}

/** What the model file itself says about its tensors. */
export interface ModelIo {
  /** Input tensor name and shape (null entries: free dims); shape null when unknown. */
  readonly input: { readonly name: string; readonly shape: readonly (number | string | null)[] | null };
  readonly outputs: readonly { readonly name: string; readonly shape: readonly (number | string | null)[] | null }[];
}

export interface ResolveInput {
  readonly path: string;
  readonly format: ArtifactFormat;
  /** Variant seen in the file itself (e.g. QuantizeLinear nodes), when the metadata does not say. */
  readonly variantHint: ArtifactVariant;
  readonly embedded: RawMetadata | null;
  readonly sidecar: RawMetadata | null;
  readonly io: ModelIo;
  readonly actionSpace: ActionSpaceSpec | undefined;
}

const OUTPUT_NAMES = ['logits', 'q_values', 'action'];

/** Builds and cross-checks the complete metadata. Errors name the file and metadata field. */
export function resolveMetadata(input: ResolveInput): PolicyMetadata {
  const raw = mergeMetadata(input.embedded, input.sidecar);
  const v = raw?.values ?? {};
  const file = input.path;
  const label = (f: Field): string => raw?.labels[f] ?? f;
  const bad = (f: Field, text: string, suggestion?: string): never => {
    throw new EdgeDistillError('BAD_MODEL', text, { file, field: label(f), suggestion });
  };

  // --- head and output tensor ---------------------------------------------------------------
  const head = parseHead(v.head, () => label('head'), file);
  let outputName: string | undefined;
  const outNames = input.io.outputs.map((o) => o.name);
  if (v.outputName !== undefined) {
    if (typeof v.outputName !== 'string' || !v.outputName) bad('outputName', 'outputName must be a non-empty string');
    outputName = v.outputName as string;
  } else if (outNames.length === 1) {
    // The head's `output` says what the values mean; the tensor may be named otherwise.
    outputName = outNames[0];
  } else {
    outputName = [head.outputName, ...OUTPUT_NAMES].find((n) => n !== undefined && outNames.includes(n));
  }
  if (outNames.length === 0) {
    throw new EdgeDistillError('BAD_MODEL', 'the model has no outputs', { file });
  }
  if (outputName === undefined) {
    throw new EdgeDistillError(
      'BAD_MODEL',
      `cannot tell which output holds the policy: outputs are ${outNames.map((n) => `'${n}'`).join(', ')}`,
      { file, suggestion: `name the output 'logits', 'q_values' or 'action', or add ${METADATA_KEYS.outputName}` },
    );
  }
  if (!outNames.includes(outputName)) {
    bad('outputName', `the model has no output '${outputName}' (outputs: ${outNames.join(', ')})`);
  }
  const outInfo = input.io.outputs.find((o) => o.name === outputName);

  // --- observation ---------------------------------------------------------------------------
  const inShape = input.io.input.shape;
  const inLast = inShape && inShape.length > 0 ? inShape[inShape.length - 1] : null;
  const shapeObsDim = typeof inLast === 'number' && inLast > 0 ? inLast : null;
  let obsSpace: BoxSpace | null = null;
  if (v.observationSpace !== undefined) {
    obsSpace = parseBox(v.observationSpace, label('observationSpace'), file, null);
  }
  let obsDim: number | null = null;
  if (v.obsDim !== undefined) {
    if (!Number.isInteger(v.obsDim) || (v.obsDim as number) <= 0) bad('obsDim', `obsDim must be a positive integer, got ${String(v.obsDim)}`);
    obsDim = v.obsDim as number;
  }
  if (obsSpace) {
    const n = obsSpace.low.length;
    if (obsDim !== null && obsDim !== n) {
      bad('observationSpace', `observation space has ${n} values but obsDim is ${obsDim}`);
    }
    obsDim = n;
  }
  if (shapeObsDim !== null) {
    if (obsDim !== null && obsDim !== shapeObsDim) {
      throw new EdgeDistillError(
        'BAD_MODEL',
        `metadata says observations have ${obsDim} values but input '${input.io.input.name}' takes ${shapeObsDim}`,
        { file, field: label(obsSpace ? 'observationSpace' : 'obsDim') },
      );
    }
    obsDim = shapeObsDim;
  }
  if (obsDim !== null && obsDim > MAX_SPACE_SIZE) {
    throw new EdgeDistillError('BAD_MODEL', `observations of ${obsDim} values are more than the ${MAX_SPACE_SIZE} supported`, {
      file,
      field: shapeObsDim === obsDim ? input.io.input.name : label(obsSpace ? 'observationSpace' : 'obsDim'),
    });
  }
  if (obsDim === null) {
    throw new EdgeDistillError('BAD_MODEL', `cannot tell the observation size: input '${input.io.input.name}' has no fixed last dimension and there is no metadata`, {
      file,
      suggestion: `give the input a fixed shape [batch, obsDim] or write ${sidecarPath(file)}`,
    });
  }
  const observationSpace: BoxSpace = obsSpace ?? unboundedBox([obsDim]);

  // --- output size ---------------------------------------------------------------------------
  const outShape = outInfo?.shape ?? null;
  const outLast = outShape && outShape.length > 0 ? outShape[outShape.length - 1] : null;
  let outDim: number | null = typeof outLast === 'number' && outLast > 0 ? outLast : null;
  if (v.outDim !== undefined) {
    if (!Number.isInteger(v.outDim) || (v.outDim as number) <= 0) bad('outDim', `outDim must be a positive integer, got ${String(v.outDim)}`);
    if (outDim !== null && outDim !== v.outDim) {
      bad('outDim', `metadata says ${String(v.outDim)} outputs but output '${outputName}' has ${outDim}`);
    }
    outDim = v.outDim as number;
  }
  if (outDim !== null && outDim > MAX_SPACE_SIZE) {
    throw new EdgeDistillError('BAD_MODEL', `output '${outputName}' of ${outDim} values is more than the ${MAX_SPACE_SIZE} supported`, { file, field: outputName });
  }

  // --- action space --------------------------------------------------------------------------
  let actionSpace: DiscreteSpace | BoxSpace | null = null;
  if (input.actionSpace !== undefined) {
    actionSpace = parseActionSpace(input.actionSpace, 'actionSpace', undefined, 'BAD_ARGUMENT');
  } else if (v.actionSpace !== undefined) {
    actionSpace = parseActionSpace(v.actionSpace, label('actionSpace'), file, 'BAD_MODEL');
  }
  let kind: PolicyHeadInfo['kind'] | undefined =
    head.kind ?? (actionSpace ? (actionSpace.kind === 'discrete' ? 'discrete' : 'continuous') : undefined);
  if (kind === undefined) {
    if (outputName === 'logits' || outputName === 'q_values') kind = 'discrete';
    else if (outputName === 'action') kind = 'continuous';
  }
  if (kind === undefined) {
    throw new EdgeDistillError('BAD_MODEL', `cannot tell whether output '${outputName}' holds scores or an action`, {
      file,
      suggestion: "pass loadPolicy(path, { actionSpace: { kind: 'discrete', n } }) or { kind: 'box', low, high }",
    });
  }
  if (actionSpace && (actionSpace.kind === 'discrete') !== (kind === 'discrete')) {
    throw new EdgeDistillError(
      input.actionSpace !== undefined ? 'BAD_ARGUMENT' : 'BAD_MODEL',
      `a ${kind} head cannot drive a ${actionSpace.kind} action space`,
      { file, field: input.actionSpace !== undefined ? 'actionSpace' : label('actionSpace') },
    );
  }
  if (!actionSpace) {
    if (outDim === null && !head.space) {
      throw new EdgeDistillError('BAD_MODEL', `cannot tell the number of outputs of '${outputName}'`, {
        file,
        suggestion: 'pass { actionSpace } to loadPolicy',
      });
    }
    const n = outDim as number;
    actionSpace = head.space ?? (kind === 'discrete' ? { kind: 'discrete', n, start: 0 } : unboundedBox([n]));
  }
  const spaceSize = actionSpace.kind === 'discrete' ? actionSpace.n : actionSpace.low.length;
  if (outDim !== null && outDim !== spaceSize) {
    throw new EdgeDistillError(
      input.actionSpace !== undefined ? 'BAD_ARGUMENT' : 'BAD_MODEL',
      `action space needs ${spaceSize} outputs but '${outputName}' has ${outDim}`,
      { file, field: input.actionSpace !== undefined ? 'actionSpace' : label('actionSpace') },
    );
  }
  outDim = spaceSize;

  // --- the rest ------------------------------------------------------------------------------
  let envId: string | null = null;
  if (v.envId !== undefined && v.envId !== null && v.envId !== '') {
    if (typeof v.envId !== 'string') bad('envId', 'envId must be a string');
    envId = v.envId as string;
  }
  let card: Record<string, unknown> = {};
  if (v.card !== undefined && v.card !== null) {
    if (!isRecord(v.card)) bad('card', 'card must be a JSON object');
    card = v.card as Record<string, unknown>;
  }
  let variant: ArtifactVariant = input.variantHint;
  if (v.variant !== undefined) {
    if (v.variant !== 'fp32' && v.variant !== 'fp16' && v.variant !== 'int8') {
      bad('variant', `variant must be 'fp32', 'fp16' or 'int8', got ${JSON.stringify(v.variant)}`);
    }
    variant = v.variant as ArtifactVariant;
  }
  const metadataSource = input.embedded ? 'embedded' : input.sidecar ? 'sidecar' : 'inferred';

  return {
    envId,
    obsDim,
    observationSpace,
    actionSpace,
    head: { kind, outputName, outDim },
    inputName: input.io.input.name,
    card,
    artifact: { path: input.path, format: input.format, variant, metadataSource },
  };
}

/** `head` may be the IR's PolicyHead as JSON, or just a kind or output name. */
interface HeadHint {
  kind?: PolicyHeadInfo['kind'];
  outputName?: string;
  /** The action space the head implies (`n`; a continuous head's `low`/`high`), when it says. */
  space?: DiscreteSpace | BoxSpace;
}

function parseHead(v: unknown, label: () => string, file: string): HeadHint {
  if (v === undefined || v === null) return {};
  const fromWord = (w: string): HeadHint | null => {
    if (w === 'discrete' || w === 'continuous') return { kind: w };
    if (w === 'logits' || w === 'q_values') return { kind: 'discrete', outputName: w };
    if (w === 'action') return { kind: 'continuous', outputName: w };
    return null;
  };
  if (typeof v === 'string') {
    const h = fromWord(v);
    if (h) return h;
  } else if (isRecord(v)) {
    const kind = v.kind;
    const out = v.outputName ?? v.output;
    if ((kind === undefined || kind === 'discrete' || kind === 'continuous') && (out === undefined || typeof out === 'string')) {
      const outputName = (out as string | undefined) ?? (kind === 'continuous' ? 'action' : undefined);
      let space: DiscreteSpace | BoxSpace | undefined;
      if (kind === 'discrete' && Number.isInteger(v.n) && (v.n as number) > 0) space = { kind: 'discrete', n: v.n as number, start: 0 };
      if (kind === 'continuous' && v.low !== undefined && v.high !== undefined) {
        space = parseBox({ low: v.low, high: v.high }, label(), file, null);
      }
      return { kind: kind as PolicyHeadInfo['kind'] | undefined, outputName, space };
    }
  }
  throw new EdgeDistillError('BAD_MODEL', `head must be 'discrete', 'continuous' or {kind, output}, got ${JSON.stringify(v)}`, {
    file,
    field: label(),
  });
}

/** Largest observation or action vector a policy may have (bounds and buffers are allocated from it). */
export const MAX_SPACE_SIZE = 1 << 24;

function unboundedBox(shape: number[]): BoxSpace {
  const n = shape.reduce((a, b) => a * b, 1);
  return {
    kind: 'box',
    shape,
    low: new Float32Array(n).fill(-Infinity),
    high: new Float32Array(n).fill(Infinity),
    dtype: 'float32',
  };
}

/** A bound value: a number, null (unbounded) or an "inf"/"-inf"/"Infinity" string. */
function bound(v: unknown, side: 'low' | 'high'): number {
  if (typeof v === 'number') return v;
  if (v === null) return side === 'low' ? -Infinity : Infinity;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (s === 'inf' || s === '+inf' || s === 'infinity' || s === '+infinity') return Infinity;
    if (s === '-inf' || s === '-infinity') return -Infinity;
  }
  return NaN;
}

function isArrayLike(v: unknown): v is ArrayLike<unknown> {
  return Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));
}

/** `{shape?, low, high}` with array or scalar (broadcast) bounds -> BoxSpace. */
export function parseBox(
  v: unknown,
  label: string,
  file: string | undefined,
  defaultShape: readonly number[] | null,
  code: 'BAD_MODEL' | 'BAD_ARGUMENT' = 'BAD_MODEL',
): BoxSpace {
  const fail = (text: string): never => {
    throw new EdgeDistillError(code, text, { file, field: label });
  };
  if (!isRecord(v)) return fail('a box space must be an object {shape, low, high}');
  let shape: number[] | null = null;
  if (v.shape !== undefined) {
    if (!isArrayLike(v.shape) || !Array.from(v.shape).every((d) => Number.isInteger(d) && (d as number) > 0)) {
      fail('shape must be an array of positive integers');
    }
    shape = Array.from(v.shape as ArrayLike<number>);
  }
  const lenOf = (b: unknown): number | null => (isArrayLike(b) ? b.length : null);
  const n =
    shape?.reduce((a, b) => a * b, 1) ??
    lenOf(v.low) ??
    lenOf(v.high) ??
    defaultShape?.reduce((a, b) => a * b, 1) ??
    fail('cannot tell the size of the box: give shape or array bounds');
  // The bounds are allocated from n: a shape like [1e6, 1e6] must be refused, not attempted.
  if (n > MAX_SPACE_SIZE) fail(`a box of ${n} values is larger than the ${MAX_SPACE_SIZE} supported`);
  const fill = (b: unknown, side: 'low' | 'high'): Float32Array => {
    const out = new Float32Array(n);
    if (isArrayLike(b)) {
      if (b.length !== n) fail(`${side} has ${b.length} values, expected ${n}`);
      for (let i = 0; i < n; i++) {
        const x = bound(b[i], side);
        if (Number.isNaN(x)) fail(`${side}[${i}] is not a number: ${JSON.stringify(b[i])}`);
        out[i] = x;
      }
    } else {
      const x = b === undefined ? bound(null, side) : bound(b, side);
      if (Number.isNaN(x)) fail(`${side} is not a number: ${JSON.stringify(b)}`);
      out.fill(x);
    }
    return out;
  };
  const low = fill(v.low, 'low');
  const high = fill(v.high, 'high');
  for (let i = 0; i < n; i++) {
    if (!(low[i] <= high[i])) fail(`low[${i}] = ${low[i]} is above high[${i}] = ${high[i]}`);
  }
  return { kind: 'box', shape: shape ?? defaultShape?.slice() ?? [n], low, high, dtype: 'float32' };
}

/** `{kind:'discrete', n, start?}` | `{kind:'box', ...}` (also `type`, and Gymnasium's `Discrete`/`Box`). */
export function parseActionSpace(
  v: unknown,
  label: string,
  file: string | undefined,
  code: 'BAD_MODEL' | 'BAD_ARGUMENT',
): DiscreteSpace | BoxSpace {
  if (!isRecord(v)) {
    throw new EdgeDistillError(code, 'an action space must be {kind: "discrete", n} or {kind: "box", low, high}', {
      file,
      field: label,
    });
  }
  const kind = String(v.kind ?? v.type ?? '').toLowerCase();
  if (kind === 'discrete') {
    const n = v.n;
    const start = v.start ?? 0;
    if (!Number.isInteger(n) || (n as number) < 1) {
      throw new EdgeDistillError(code, `discrete n must be a positive integer, got ${JSON.stringify(n)}`, { file, field: `${label}.n` });
    }
    if (!Number.isInteger(start)) {
      throw new EdgeDistillError(code, `discrete start must be an integer, got ${JSON.stringify(start)}`, { file, field: `${label}.start` });
    }
    return { kind: 'discrete', n: n as number, start: start as number };
  }
  if (kind === 'box' || kind === 'continuous') return parseBox(v, label, file, null, code);
  throw new EdgeDistillError(code, `unknown action space kind ${JSON.stringify(v.kind ?? v.type)}`, {
    file,
    field: `${label}.kind`,
    suggestion: "use 'discrete' or 'box'",
  });
}
