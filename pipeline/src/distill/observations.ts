/**
 * Recorded states for offline distillation: JSONL (one array, or {"obs": [...]}, per line), CSV
 * (with or without a header line) or .npy (2-D float32/float64). The teacher labels them; no
 * environment is needed.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { parseNpy, type Matrix } from './npy.js';

function fromRows(rows: number[][], file: string): Matrix {
  if (rows.length === 0) throw new EdgeDistillError('BAD_ARGUMENT', 'no observations in file', { file });
  const cols = rows[0].length;
  const data = new Float32Array(rows.length * cols);
  rows.forEach((r, i) => data.set(r, i * cols));
  return { rows: rows.length, cols, data };
}

function checkRow(values: unknown, file: string, line: number, cols: number | null): number[] {
  if (!Array.isArray(values) || values.length === 0) {
    throw new EdgeDistillError('BAD_ARGUMENT', `line ${line}: expected an array of numbers or {"obs": [...]}`, { file, field: `line ${line}` });
  }
  const out = values.map((v, j) => {
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (!Number.isFinite(n)) {
      throw new EdgeDistillError('BAD_OBSERVATION', `line ${line}, value ${j}: ${JSON.stringify(v)} is not a finite number`, {
        file,
        field: `line ${line}[${j}]`,
      });
    }
    return n;
  });
  if (cols !== null && out.length !== cols) {
    throw new EdgeDistillError('BAD_OBSERVATION', `line ${line}: ${out.length} values, earlier lines have ${cols}`, { file, field: `line ${line}` });
  }
  return out;
}

export function parseJsonl(text: string, file = '<jsonl>'): Matrix {
  const rows: number[][] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new EdgeDistillError('BAD_ARGUMENT', `line ${i + 1} is not JSON`, { file, field: `line ${i + 1}` });
    }
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) v = (v as { obs?: unknown }).obs;
    rows.push(checkRow(v, file, i + 1, rows[0]?.length ?? null));
  });
  return fromRows(rows, file);
}

export function parseCsv(text: string, file = '<csv>'): Matrix {
  const rows: number[][] = [];
  let first = true;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const cells = line.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
    // The first line is a header when any cell is not a number.
    const header = first && cells.some((c) => c === '' || !Number.isFinite(Number(c)));
    first = false;
    if (!header) rows.push(checkRow(cells, file, i + 1, rows[0]?.length ?? null));
  });
  return fromRows(rows, file);
}

/** Reads observations by extension: .jsonl/.ndjson/.json, .csv/.tsv-free CSV, .npy. */
export async function readObservations(file: string): Promise<Matrix> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new EdgeDistillError('IO', `cannot read observations: ${(e as Error).message}`, { file });
  }
  const ext = extname(file).toLowerCase();
  if (ext === '.npy') return parseNpy(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file);
  const text = bytes.toString('utf8');
  if (ext === '.csv') return parseCsv(text, file);
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return parseJsonl(text, file);
  throw new EdgeDistillError('BAD_ARGUMENT', `unknown observations format "${ext}"`, {
    file,
    suggestion: 'use .jsonl (one array or {"obs": [...]} per line), .csv or .npy',
  });
}
