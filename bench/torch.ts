/**
 * Runs the PyTorch peer (bench/torch_baseline.py) as a child process and returns what it wrote.
 *
 * Python: $EDGEDISTILL_PYTHON, else Debian's /usr/bin/python3 (pyenv's `python3` on PATH cannot
 * see Debian's python3-torch). One thread everywhere: torch.set_num_threads(1) in the script and
 * OMP/OPENBLAS/MKL_NUM_THREADS=1 here.
 *
 * BLAS: Debian's python3-torch links libblas.so.3, which update-alternatives points at the
 * reference (netlib) BLAS unless an optimized one is installed. scripts/ci-apt.sh installs
 * libopenblas0-pthread, whose postinst makes OpenBLAS the libblas.so.3 alternative (priority 100 vs
 * 10). When the alternative still points elsewhere but OpenBLAS is installed, the child gets
 * LD_PRELOAD=<openblas-pthread/libblas.so.3>, so the peer is never measured on the reference BLAS
 * by accident. The script reports the libraries the process actually mapped (/proc/self/maps).
 */
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, runChild, type BenchContext } from './util.js';

const LIB_DIR = `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;
const OPENBLAS_BLAS = `${LIB_DIR}/openblas-pthread/libblas.so.3`;
const SYSTEM_BLAS = `${LIB_DIR}/libblas.so.3`;
/** Debian's reference (netlib) BLAS, for the one comparison run that shows what OpenBLAS buys. */
export const REFERENCE_BLAS = `${LIB_DIR}/blas/libblas.so.3`;

export interface BlasSelection {
  /** How the peer gets OpenBLAS: the system alternative, LD_PRELOAD, or not at all. */
  how: 'update-alternatives' | 'LD_PRELOAD' | 'none (OpenBLAS not installed)';
  /** Where libblas.so.3 resolves system-wide. */
  systemBlas: string | null;
  ldPreload: string | null;
}

export function blasSelection(): BlasSelection {
  let systemBlas: string | null = null;
  try {
    systemBlas = realpathSync(SYSTEM_BLAS);
  } catch {
    /* no libblas.so.3 */
  }
  if (systemBlas !== null && systemBlas.includes('openblas')) return { how: 'update-alternatives', systemBlas, ldPreload: null };
  if (existsSync(OPENBLAS_BLAS)) return { how: 'LD_PRELOAD', systemBlas, ldPreload: OPENBLAS_BLAS };
  return { how: 'none (OpenBLAS not installed)', systemBlas, ldPreload: null };
}

export function peerEnv(sel: BlasSelection): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1', PYTHONDONTWRITEBYTECODE: '1' };
  if (sel.ldPreload) env.LD_PRELOAD = sel.ldPreload;
  else delete env.LD_PRELOAD;
  return env;
}

export type PeerResult = Record<string, unknown> & { skipped?: string; blasSelection?: BlasSelection };

/** Runs the peer's tasks; `{skipped}` when Python or PyTorch is missing or the script fails. */
export async function runPeer(
  ctx: BenchContext,
  name: string,
  config: Record<string, unknown>,
  timeoutSeconds: number,
  /** Preload this libblas.so.3 instead (the reference-BLAS comparison run). */
  blasOverride?: string,
): Promise<PeerResult> {
  if (!existsSync(ctx.python)) return { skipped: `no Python at ${ctx.python} (set EDGEDISTILL_PYTHON to a python3 with PyTorch)` };
  const dir = join(ctx.workDir, 'peer');
  mkdirSync(dir, { recursive: true });
  const cfgPath = join(dir, `${name}.config.json`);
  const outPath = join(dir, `${name}.result.json`);
  writeFileSync(cfgPath, JSON.stringify({ threads: 1, ...config }));
  const sel: BlasSelection = blasOverride ? { how: 'LD_PRELOAD', systemBlas: blasSelection().systemBlas, ldPreload: blasOverride } : blasSelection();
  const r = await runChild(ctx.python, [join(REPO_ROOT, 'bench/torch_baseline.py'), cfgPath, outPath], {
    cwd: REPO_ROOT,
    env: peerEnv(sel),
    timeoutSeconds,
  });
  if (r.timedOut) return { skipped: `PyTorch peer (${name}) timed out after ${timeoutSeconds} s` };
  if (r.code !== 0 || !existsSync(outPath)) {
    const tail = (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ');
    return { skipped: `PyTorch peer (${name}) exited ${r.code ?? r.signal}: ${tail}` };
  }
  const out = JSON.parse(readFileSync(outPath, 'utf8')) as PeerResult;
  return { ...out, blasSelection: sel };
}
