/**
 * Compiles a generated policy.c with gcc next to a small harness and runs it on observations: how
 * the parity gate and the tests run the C artifact for real. gcc missing is not an error here
 * (`findGcc` returns null and the caller reports "not run").
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EdgeDistillError } from '@edgedistill/runtime/errors';

/** The flags the gate compiles with: strict C99, warnings are errors, no fast-math. */
export const GCC_FLAGS = ['-O2', '-Wall', '-Wextra', '-Werror', '-std=c99', '-pedantic'];

export interface Gcc {
  readonly path: string;
  readonly version: string;
}

let cached: Gcc | null | undefined;

export function findGcc(): Gcc | null {
  if (cached !== undefined) return cached;
  const path = process.env.EDGEDISTILL_GCC ?? 'gcc';
  const r = spawnSync(path, ['-dumpfullversion'], { encoding: 'utf8' });
  cached = r.status === 0 ? { path, version: r.stdout.trim() } : null;
  return cached;
}

/** Reads rows of POLICY_OBS_DIM float32 from argv[1]; writes outputs (and int32 actions) to argv[2]. */
export const HARNESS_SOURCE = `#include <stdio.h>
#include "policy.h"

int main(int argc, char **argv) {
  float obs[POLICY_OBS_DIM], out[POLICY_OUT_DIM];
  FILE *in, *res;
  if (argc != 3) return 2;
  in = fopen(argv[1], "rb");
  res = fopen(argv[2], "wb");
  if (!in || !res) return 2;
  while (fread(obs, sizeof(float), POLICY_OBS_DIM, in) == POLICY_OBS_DIM) {
    policy_forward(obs, out);
    if (fwrite(out, sizeof(float), POLICY_OUT_DIM, res) != POLICY_OUT_DIM) return 3;
#if POLICY_DISCRETE
    {
      int a = policy_act(obs);
      if (fwrite(&a, sizeof(int), 1, res) != 1) return 3;
    }
#endif
  }
  fclose(in);
  return fclose(res) == 0 ? 0 : 3;
}
`;

export interface CRunResult {
  /** rows x outDim from policy_forward. */
  readonly output: Float32Array;
  /** policy_act per row (discrete heads), else null. */
  readonly actions: Int32Array | null;
  readonly compiler: string;
}

/**
 * Compiles `header` + `source` (as policy.h / policy.c) with the harness and runs it on `obs`.
 * Compile errors are BAD_MODEL with gcc's messages; a crash is RUNTIME.
 */
export function compileAndRunC(
  header: string,
  source: string,
  obs: Float32Array,
  rows: number,
  outDim: number,
  discrete: boolean,
  gcc: Gcc,
  file = 'policy.c',
): CRunResult {
  const dir = mkdtempSync(join(tmpdir(), 'edgedistill-c-'));
  try {
    writeFileSync(join(dir, 'policy.h'), header);
    writeFileSync(join(dir, 'policy.c'), source);
    writeFileSync(join(dir, 'harness.c'), HARNESS_SOURCE);
    const exe = join(dir, 'harness');
    const cc = spawnSync(gcc.path, [...GCC_FLAGS, '-o', exe, join(dir, 'harness.c'), join(dir, 'policy.c'), '-lm'], { encoding: 'utf8' });
    if (cc.status !== 0) {
      throw new EdgeDistillError('BAD_MODEL', `gcc cannot compile the generated C: ${(cc.stderr || cc.error?.message || '').trim().split('\n').slice(0, 5).join(' | ')}`, {
        file,
      });
    }
    const inFile = join(dir, 'obs.bin');
    const outFile = join(dir, 'out.bin');
    writeFileSync(inFile, new Uint8Array(obs.buffer, obs.byteOffset, rows * (obs.length / rows) * 4));
    const run = spawnSync(exe, [inFile, outFile], { encoding: 'utf8' });
    if (run.status !== 0) {
      throw new EdgeDistillError('RUNTIME', `the compiled C policy failed (exit ${run.status}, signal ${run.signal})`, { file });
    }
    const buf = readFileSync(outFile);
    const per = outDim + (discrete ? 1 : 0);
    if (buf.length !== rows * per * 4) {
      throw new EdgeDistillError('RUNTIME', `the compiled C policy wrote ${buf.length} bytes, expected ${rows * per * 4}`, { file });
    }
    const output = new Float32Array(rows * outDim);
    const actions = discrete ? new Int32Array(rows) : null;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < outDim; c++) output[r * outDim + c] = buf.readFloatLE((r * per + c) * 4);
      if (actions) actions[r] = buf.readInt32LE((r * per + outDim) * 4);
    }
    return { output, actions, compiler: `gcc ${gcc.version}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
