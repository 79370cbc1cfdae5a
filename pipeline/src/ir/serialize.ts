/**
 * policy.json: the IR on disk. Weights are base64 of little-endian float32 (exact, compact, and
 * NaN/Infinity survive, unlike JSON numbers). Reading validates everything and names the field.
 */
import { readFile } from 'node:fs/promises';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import type { Activation, DenseCodebook, DenseLayer, PolicyHead, PolicyModel } from './types.js';
import { codebookBits, decodeCodebook, packIndices, unpackIndices } from './codebook.js';
import { validatePolicy } from './validate.js';
import { writeFileAtomic } from '../util/atomic-write.js';

export const POLICY_FORMAT = 'edgedistill-policy';
export const POLICY_VERSION = 1;

export interface PolicyJSON {
  format: typeof POLICY_FORMAT;
  version: number;
  envId: string | null;
  obsDim: number;
  obsNorm: { mean: string; std: string; clip: number | null } | null;
  /** `weight` is absent when the layer has a `codebook` (weight sharing), which then defines it. */
  layers: { inDim: number; outDim: number; activation: Activation; weight?: string; bias: string; codebook?: CodebookJSON }[];
  head:
    | { kind: 'discrete'; output: 'logits' | 'q_values'; n: number }
    | { kind: 'continuous'; dim: number; squash: 'tanh' | 'none'; low: string; high: string; logStd?: string };
  card: Record<string, unknown>;
}

/** A layer's codebook on disk: k float32 centroids and the indices bit-packed (`bits` each, LSB first). */
export interface CodebookJSON {
  k: number;
  bits: number;
  centroids: string;
  indices: string;
}

function codebookToJSON(cb: DenseCodebook): CodebookJSON {
  const bits = codebookBits(cb.centroids.length);
  return { k: cb.centroids.length, bits, centroids: floatsToBase64(cb.centroids), indices: Buffer.from(packIndices(cb.indices, bits)).toString('base64') };
}

function codebookFromJSON(raw: unknown, count: number, at: string, file?: string): DenseCodebook {
  need(isObj(raw), at, 'must be an object', file);
  const k = raw.k;
  need(typeof k === 'number' && Number.isInteger(k) && k >= 1 && k <= 256, `${at}.k`, `must be an integer from 1 to 256, got ${JSON.stringify(k)}`, file);
  need(raw.bits === codebookBits(k), `${at}.bits`, `must be ${codebookBits(k)} for ${k} centroids, got ${JSON.stringify(raw.bits)}`, file);
  const centroids = base64ToFloats(raw.centroids, k, `${at}.centroids`, file);
  const bits = codebookBits(k);
  need(typeof raw.indices === 'string' && BASE64.test(raw.indices) && raw.indices.length % 4 === 0, `${at}.indices`, 'must be base64 text', file);
  const packed = new Uint8Array(Buffer.from(raw.indices as string, 'base64'));
  const bytes = Math.ceil((count * bits) / 8);
  need(packed.length === bytes, `${at}.indices`, `has wrong length: expected ${bytes} bytes (${count} indices of ${bits} bits), got ${packed.length}`, file);
  const indices = unpackIndices(packed, count, bits);
  const bad = indices.findIndex((i) => i >= k);
  need(bad < 0, `${at}.indices`, `index ${indices[bad]} at ${bad} is not below k = ${k}`, file);
  return { centroids, indices };
}

export function floatsToBase64(a: Float32Array): string {
  const buf = Buffer.alloc(a.length * 4);
  for (let i = 0; i < a.length; i++) buf.writeFloatLE(a[i], i * 4);
  return buf.toString('base64');
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes base64 little-endian float32; throws BAD_MODEL naming `field` on bad text or length. */
export function base64ToFloats(s: unknown, expected: number | null, field: string, file?: string): Float32Array {
  if (typeof s !== 'string' || s.length % 4 !== 0 || !BASE64.test(s)) {
    throw new EdgeDistillError('BAD_MODEL', `${field} must be base64 text of little-endian float32 values`, { file, field });
  }
  const buf = Buffer.from(s, 'base64');
  if (buf.length % 4 !== 0) {
    throw new EdgeDistillError('BAD_MODEL', `${field} holds ${buf.length} bytes, not a whole number of float32 values`, { file, field });
  }
  const n = buf.length / 4;
  if (expected !== null && n !== expected) {
    throw new EdgeDistillError('BAD_MODEL', `${field} has wrong length: expected ${expected} float32 values, got ${n}`, { file, field });
  }
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

export function policyToJSON(model: PolicyModel): PolicyJSON {
  validatePolicy(model);
  const h = model.head;
  return {
    format: POLICY_FORMAT,
    version: POLICY_VERSION,
    envId: model.envId,
    obsDim: model.obsDim,
    obsNorm: model.obsNorm
      ? { mean: floatsToBase64(model.obsNorm.mean), std: floatsToBase64(model.obsNorm.std), clip: model.obsNorm.clip }
      : null,
    layers: model.layers.map((l) => ({
      inDim: l.inDim,
      outDim: l.outDim,
      activation: l.activation,
      ...(l.codebook ? { codebook: codebookToJSON(l.codebook) } : { weight: floatsToBase64(l.weight) }),
      bias: floatsToBase64(l.bias),
    })),
    head:
      h.kind === 'discrete'
        ? { kind: 'discrete', output: h.output, n: h.n }
        : {
            kind: 'continuous',
            dim: h.dim,
            squash: h.squash,
            low: floatsToBase64(h.low),
            high: floatsToBase64(h.high),
            ...(h.logStd ? { logStd: floatsToBase64(h.logStd) } : {}),
          },
    card: model.card,
  };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function need(cond: boolean, field: string, text: string, file?: string): asserts cond {
  if (!cond) throw new EdgeDistillError('BAD_MODEL', `${field} ${text}`, { file, field });
}

const dimOk = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n > 0;

/** Parses and validates a policy.json value (already JSON.parsed). `file` is used in errors. */
export function policyFromJSON(json: unknown, file?: string): PolicyModel {
  need(isObj(json), 'policy', 'must be a JSON object', file);
  need(
    json.format === POLICY_FORMAT,
    'format',
    `must be "${POLICY_FORMAT}", got ${JSON.stringify(json.format)} (is this an edgedistill policy.json?)`,
    file,
  );
  need(json.version === POLICY_VERSION, 'version', `must be ${POLICY_VERSION}, got ${JSON.stringify(json.version)}`, file);
  need(dimOk(json.obsDim), 'obsDim', `must be a positive integer, got ${JSON.stringify(json.obsDim)}`, file);
  const obsDim = json.obsDim;
  need(json.envId === null || json.envId === undefined || typeof json.envId === 'string', 'envId', 'must be a string or null', file);

  let obsNorm: PolicyModel['obsNorm'] = null;
  if (json.obsNorm !== null && json.obsNorm !== undefined) {
    const n = json.obsNorm;
    need(isObj(n), 'obsNorm', 'must be an object or null', file);
    need(n.clip === null || n.clip === undefined || typeof n.clip === 'number', 'obsNorm.clip', 'must be a number or null', file);
    obsNorm = {
      mean: base64ToFloats(n.mean, obsDim, 'obsNorm.mean', file),
      std: base64ToFloats(n.std, obsDim, 'obsNorm.std', file),
      clip: (n.clip as number | null | undefined) ?? null,
    };
  }

  need(Array.isArray(json.layers), 'layers', 'must be an array', file);
  const layers = (json.layers as unknown[]).map((raw, i): DenseLayer => {
    const at = `layers.${i}`;
    need(isObj(raw), at, 'must be an object', file);
    need(dimOk(raw.inDim), `${at}.inDim`, `must be a positive integer, got ${JSON.stringify(raw.inDim)}`, file);
    need(dimOk(raw.outDim), `${at}.outDim`, `must be a positive integer, got ${JSON.stringify(raw.outDim)}`, file);
    const n = raw.inDim * raw.outDim;
    const base = {
      inDim: raw.inDim,
      outDim: raw.outDim,
      activation: raw.activation as Activation,
      bias: base64ToFloats(raw.bias, raw.outDim, `${at}.bias`, file),
    };
    if (raw.codebook !== undefined) {
      need(raw.weight === undefined, `${at}.weight`, 'must be absent when the layer has a codebook (the codebook defines the weights)', file);
      const codebook = codebookFromJSON(raw.codebook, n, `${at}.codebook`, file);
      return { ...base, weight: decodeCodebook(codebook), codebook };
    }
    return { ...base, weight: base64ToFloats(raw.weight, n, `${at}.weight`, file) };
  });

  const h = json.head;
  need(isObj(h), 'head', 'must be an object', file);
  let head: PolicyHead;
  if (h.kind === 'discrete') {
    head = { kind: 'discrete', output: h.output as 'logits' | 'q_values', n: h.n as number };
  } else if (h.kind === 'continuous') {
    need(dimOk(h.dim), 'head.dim', `must be a positive integer, got ${JSON.stringify(h.dim)}`, file);
    head = {
      kind: 'continuous',
      dim: h.dim,
      squash: h.squash as 'tanh' | 'none',
      low: base64ToFloats(h.low, h.dim, 'head.low', file),
      high: base64ToFloats(h.high, h.dim, 'head.high', file),
      ...(h.logStd !== undefined ? { logStd: base64ToFloats(h.logStd, h.dim, 'head.logStd', file) } : {}),
    };
  } else {
    throw new EdgeDistillError('BAD_MODEL', `head.kind must be discrete or continuous, got ${JSON.stringify(h.kind)}`, {
      file,
      field: 'head.kind',
    });
  }
  const card = json.card ?? {};
  need(isObj(card), 'card', 'must be an object', file);
  return validatePolicy({ envId: (json.envId as string | null | undefined) ?? null, obsDim, obsNorm, layers, head, card }, file);
}

/** policy.json text (2-space indented; weights stay on one line each). */
export function policyToText(model: PolicyModel): string {
  return `${JSON.stringify(policyToJSON(model), null, 2)}\n`;
}

export async function writePolicyFile(path: string, model: PolicyModel): Promise<void> {
  await writeFileAtomic(path, policyToText(model));
}

export async function readPolicyFile(path: string): Promise<PolicyModel> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new EdgeDistillError(code === 'ENOENT' ? 'BAD_ARGUMENT' : 'IO', code === 'ENOENT' ? 'file not found' : `cannot read: ${(e as Error).message}`, {
      file: path,
      cause: e,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new EdgeDistillError('BAD_MODEL', `not valid JSON: ${(e as Error).message}`, { file: path, cause: e });
  }
  return policyFromJSON(json, path);
}
