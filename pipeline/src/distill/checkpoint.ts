/**
 * Distillation checkpoints: everything a run needs to continue exactly where it was at the start of
 * a round (trainer and averaged weights, both Adam states, the replay and held-out buffers, the
 * observation normalization, the RNG state, counters, the curve so far), as one JSON file written
 * atomically (temp file, fsync, rename, fsync of the directory). A run resumed from it draws the
 * same minibatches and rollouts as the run that wrote it would have.
 */
import { readFile } from 'node:fs/promises';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { writeFileAtomic } from '../util/atomic-write.js';

export const CHECKPOINT_FORMAT = 'edgedistill-distill-checkpoint';
export const CHECKPOINT_FILE = 'checkpoint.json';

export interface BufferState {
  size: number;
  added: number;
  head: number;
  obs: Float32Array;
  targets: Float32Array;
  actions: Float32Array;
}

export interface AdamState {
  m: Float32Array;
  v: Float32Array;
  t: number;
  lr: number;
}

export interface DistillCheckpoint {
  /** What must match for a resume to continue the same run. */
  fingerprint: Record<string, unknown>;
  /** The round about to start (its gradient steps have not run yet). */
  round: number;
  steps: number;
  samples: number;
  elapsedSeconds: number;
  rng: number[];
  params: Float32Array;
  averaged: Float32Array;
  adam: AdamState;
  adamStd: AdamState;
  logStd: Float32Array;
  norm: { mean: Float32Array; std: Float32Array };
  train: BufferState;
  heldOut: BufferState;
  heldOutSeed: number | null;
  transitions: number;
  betas: number[];
  bestLoss: number | null;
  sinceBest: number;
  actionErrorTarget: number | null;
  timing: { data: number; baselines: number; train: number; checks: number };
  /** Teacher and random returns on the evaluation seeds (computed once, before round 0). */
  baselines: { teacher: unknown; random: unknown };
  curve: unknown[];
}

const F32 = '$f32';
const f32ToJson = (a: Float32Array) => ({ [F32]: Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64') });
function f32FromJson(v: unknown, file: string, field: string): Float32Array {
  const b64 = (v as Record<string, unknown> | null)?.[F32];
  if (typeof b64 !== 'string') throw new EdgeDistillError('BAD_ARGUMENT', 'not a float32 array', { file, field });
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.length % 4 !== 0) throw new EdgeDistillError('BAD_ARGUMENT', 'float32 data is not a multiple of 4 bytes', { file, field });
  const out = new Float32Array(bytes.length / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** JSON with every Float32Array as base64 (exact, and about a third of the size of a number list). */
export function checkpointToText(c: DistillCheckpoint): string {
  const body = JSON.stringify({ format: CHECKPOINT_FORMAT, version: 1, ...c }, (_k, v: unknown) => (v instanceof Float32Array ? f32ToJson(v) : v));
  return `${body}\n`;
}

const FLOAT_FIELDS: readonly string[] = ['params', 'averaged', 'logStd', 'adam.m', 'adam.v', 'adamStd.m', 'adamStd.v', 'norm.mean', 'norm.std'];
const BUFFER_FIELDS = ['obs', 'targets', 'actions'] as const;

export function checkpointFromText(text: string, file: string): DistillCheckpoint {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new EdgeDistillError('BAD_ARGUMENT', `not valid JSON: ${(e as Error).message}`, { file });
  }
  if (raw?.format !== CHECKPOINT_FORMAT || raw.version !== 1) {
    throw new EdgeDistillError('BAD_ARGUMENT', `not a distill checkpoint (format ${JSON.stringify(raw?.format)}, version ${JSON.stringify(raw?.version)})`, { file, field: 'format' });
  }
  for (const path of FLOAT_FIELDS) {
    const [a, b] = path.split('.');
    const holder = (b ? raw[a] : raw) as Record<string, unknown>;
    const key = b ?? a;
    if (!holder || typeof holder !== 'object') throw new EdgeDistillError('BAD_ARGUMENT', 'missing', { file, field: a });
    holder[key] = f32FromJson(holder[key], file, path);
  }
  for (const buf of ['train', 'heldOut']) {
    const holder = raw[buf] as Record<string, unknown>;
    if (!holder || typeof holder !== 'object') throw new EdgeDistillError('BAD_ARGUMENT', 'missing', { file, field: buf });
    for (const k of BUFFER_FIELDS) holder[k] = f32FromJson(holder[k], file, `${buf}.${k}`);
  }
  for (const k of ['round', 'steps', 'samples', 'elapsedSeconds', 'transitions'] as const) {
    if (typeof raw[k] !== 'number' || !Number.isFinite(raw[k])) throw new EdgeDistillError('BAD_ARGUMENT', 'not a number', { file, field: k });
  }
  if (!Array.isArray(raw.rng) || raw.rng.length !== 4) throw new EdgeDistillError('BAD_ARGUMENT', 'need 4 integers', { file, field: 'rng' });
  const { format: _f, version: _v, ...rest } = raw;
  return rest as unknown as DistillCheckpoint;
}

export async function writeDistillCheckpoint(file: string, c: DistillCheckpoint): Promise<void> {
  await writeFileAtomic(file, checkpointToText(c));
}

export async function readDistillCheckpoint(file: string): Promise<DistillCheckpoint> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new EdgeDistillError('BAD_ARGUMENT', code === 'ENOENT' ? 'no checkpoint to resume from (run with --checkpoint-every first)' : `cannot read: ${(e as Error).message}`, {
      file,
      field: '--resume',
    });
  }
  return checkpointFromText(text, file);
}
