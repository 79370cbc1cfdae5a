/**
 * Compiles kernels/mlp.wat to kernels/mlp.wasm with wabt (an npm devDependency: offline and
 * deterministic). The .wasm is committed so running the trainer needs no compiler; the unit test
 * recompiles and compares bytes, so the two cannot drift apart.
 *
 *   node --import tsx pipeline/src/distill/kernels/build.ts
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const WAT_PATH = fileURLToPath(new URL('./mlp.wat', import.meta.url));
export const WASM_PATH = fileURLToPath(new URL('./mlp.wasm', import.meta.url));

/** The module's bytes as wabt assembles mlp.wat (baseline SIMD, no debug names). */
export async function compileKernelWat(source = readFileSync(WAT_PATH, 'utf8')): Promise<Uint8Array> {
  const wabt = await (await import('wabt')).default();
  const mod = wabt.parseWat('mlp.wat', source, { simd: true });
  try {
    mod.validate();
    return mod.toBinary({ canonicalize_lebs: true, write_debug_names: false }).buffer.slice();
  } finally {
    mod.destroy();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const bytes = await compileKernelWat();
  writeFileSync(`${WASM_PATH}.tmp`, bytes);
  renameSync(`${WASM_PATH}.tmp`, WASM_PATH);
  console.log(`wrote ${WASM_PATH} (${bytes.length} bytes)`);
}
