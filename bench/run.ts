/**
 * `npm run bench`: runs the benchmark sections, writes results.json and results.md (bench/ by
 * default) and prints the table. Progress goes to stderr.
 *
 *   npm run bench                                  # everything (fleet only with EDGEDISTILL_BENCH_FLEET=1)
 *   npm run bench -- --quick --only envs,latency   # small budgets, two sections
 *   npm run bench -- --out /tmp/bench --keep       # results elsewhere, keep the scratch directory
 *
 * Sections: envs, distill, latency, sizes, start (npm start), fleet. A part that is missing or
 * fails is recorded as {skipped: reason} and the run goes on.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../pipeline/src/util/atomic-write.js';
import { benchDistill } from './distill.js';
import { benchEnvs } from './envs.js';
import { benchFleet } from './fleet.js';
import { benchLatency } from './latency.js';
import { benchNpmStart } from './npm-start.js';
import { computePairs, computeTargets, peerFactsOf, renderMarkdown } from './report.js';
import { benchSizes } from './sizes.js';
import { guard, load, machineFacts, REPO_ROOT, type BenchContext } from './util.js';

export const SECTIONS = ['envs', 'distill', 'latency', 'sizes', 'start', 'fleet'] as const;
type Section = (typeof SECTIONS)[number];

const HELP = `Usage: npm run bench -- [--only SECTION[,SECTION...]] [--quick] [--out DIR] [--keep] [--json] [--quiet]

Sections: ${SECTIONS.join(', ')} (default: all; fleet runs only with EDGEDISTILL_BENCH_FLEET=1).
  --quick   small budgets (seconds, not minutes): for tests and smoke runs
  --out     directory for results.json and results.md (default: bench/)
  --keep    keep the scratch directory (exports, bundles, data for the PyTorch peer)
  --json    print results.json instead of the markdown table
  --quiet   no progress on stderr
  --from F  start from results.json F: alone, measure nothing and write both files again from it
            (targets, pairs, notes recomputed); with --only, measure those sections again and keep the rest
Env: EDGEDISTILL_PYTHON (python3 with PyTorch; default /usr/bin/python3), EDGEDISTILL_BENCH_FLEET=1.

Example:
  $ npm run bench -- --quick --only envs,latency --out /tmp/bench
`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      quick: { type: 'boolean' },
      quiet: { type: 'boolean' },
      out: { type: 'string' },
      keep: { type: 'boolean' },
      json: { type: 'boolean' },
      from: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const only = values.only ? values.only.split(',').map((s) => s.trim()).filter(Boolean) : null;
  const bad = only?.filter((s) => !(SECTIONS as readonly string[]).includes(s)) ?? [];
  if (bad.length) {
    process.stderr.write(`unknown section(s) ${bad.join(', ')}; sections: ${SECTIONS.join(', ')}\n`);
    return 2;
  }
  const sections = (only ?? [...SECTIONS]) as Section[];
  const outDir = resolve(values.out ?? join(REPO_ROOT, 'bench'));
  mkdirSync(outDir, { recursive: true });
  let prev: Record<string, any> | null = null;
  if (values.from) {
    prev = JSON.parse(readFileSync(resolve(values.from), 'utf8')) as Record<string, any>;
    if (prev.format !== 'edgedistill-bench') {
      process.stderr.write(`${values.from}: not a results.json of npm run bench (format ${String(prev.format)})\n`);
      return 2;
    }
    // --from alone: re-render; with --only: measure those sections again, keep the others.
    if (!only) return write(prev, outDir, null, values.json === true);
  }
  const workDir = mkdtempSync(join(tmpdir(), 'edgedistill-bench-'));
  // Progress on stderr: off with --quiet, and when stderr is not a terminal (unless EDGEDISTILL_BENCH_VERBOSE=1).
  const quiet = values.quiet === true || (!process.stderr.isTTY && process.env.EDGEDISTILL_BENCH_VERBOSE !== '1');
  const ctx: BenchContext = {
    quick: values.quick === true,
    workDir,
    python: process.env.EDGEDISTILL_PYTHON || '/usr/bin/python3',
    log: (s) => {
      if (!quiet) process.stderr.write(`${s}\n`);
    },
    shared: new Map(),
  };
  const t0 = performance.now();
  const loadStart = load();
  const fresh: Record<string, any> = {
    format: 'edgedistill-bench',
    version: 1,
    date: new Date().toISOString(),
    quick: ctx.quick,
    only,
    machine: { ...machineFacts(), loadAverage: { start: loadStart, end: null } },
    sections: {} as Record<string, unknown>,
    sectionRuns: {} as Record<string, unknown>,
  };
  const results: Record<string, any> = prev ? { ...prev, sectionRuns: { ...(prev.sectionRuns ?? {}) }, sections: { ...prev.sections } } : fresh;
  const run: Record<Section, () => Promise<unknown>> = {
    envs: async () => {
      const seconds = ctx.quick ? 0.1 : 1;
      const res = await benchEnvs({ seconds, numEnvs: 64 });
      return { note: `${seconds} s per env after a warm-up, random actions, one thread; vectorized = 64 copies (SoA, same-step auto-reset), single = one Env.step()`, results: res };
    },
    distill: () => benchDistill(ctx),
    latency: () => benchLatency(ctx),
    sizes: () => benchSizes(ctx),
    start: () => benchNpmStart(ctx),
    fleet: () => benchFleet(ctx),
  };
  try {
    for (const s of sections) {
      ctx.log(`[${s}]`);
      const st = performance.now();
      const runInfo: Record<string, unknown> = { date: new Date().toISOString(), quick: ctx.quick, loadAverage: { start: load(), end: null } };
      const r = await guard(s, run[s], ctx.log);
      results.sections[s] = r;
      runInfo.seconds = (performance.now() - st) / 1000;
      (runInfo.loadAverage as { end: number[] | null }).end = load();
      results.sectionRuns[s] = runInfo;
      ctx.log(`[${s}] ${((performance.now() - st) / 1000).toFixed(1)} s`);
    }
  } finally {
    if (!values.keep) rmSync(workDir, { recursive: true, force: true });
  }
  if (prev) {
    results.updated = [...(prev.updated ?? []), { date: fresh.date, sections, quick: ctx.quick, seconds: (performance.now() - t0) / 1000 }];
  } else {
    results.machine.loadAverage.end = load();
    results.seconds = (performance.now() - t0) / 1000;
  }
  return write(results, outDir, values.keep ? workDir : null, values.json === true);
}

/** Derived parts (targets, pairs, notes) from the measurements, then results.json and results.md. */
async function write(results: Record<string, any>, outDir: string, keptDir: string | null, json: boolean): Promise<number> {
  results.targets = computeTargets(results);
  results.pairs = computePairs(results);
  results.notes = notes(results, keptDir);
  const md = renderMarkdown(results);
  await writeFileAtomic(join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  await writeFileAtomic(join(outDir, 'results.md'), md);
  process.stdout.write(json ? `${JSON.stringify(results, null, 2)}\n` : md);
  return 0;
}

/** The measured cost of the reference BLAS, from the comparison run. */
function refBlasNote(r: Record<string, any>): string {
  const ref = r.sections.distill?.pytorchThroughputReferenceBlas;
  const main = r.sections.distill?.pytorchThroughput;
  if (!ref?.results || !Array.isArray(main)) return '';
  const parts = (ref.results as any[]).map((x) => {
    const o = main.find((m: any) => m.batch === x.batch);
    return o ? `batch ${x.batch}: ${Math.round(x.samplesPerSecond).toLocaleString('en-US')} samples/s on ${ref.blas} vs ${Math.round(o.samplesPerSecond).toLocaleString('en-US')} on ${r.sections.distill.pytorch?.blas}` : '';
  });
  return ` Measured in this run, the same PyTorch training step with the reference BLAS preloaded: ${parts.filter(Boolean).join('; ')}.`;
}

/** What a reader needs to interpret the figures, from what this run found. */
function notes(r: Record<string, any>, keptDir: string | null): string[] {
  const n: string[] = [];
  const pf = peerFactsOf(r) as Record<string, any> | null;
  if (pf && !pf.skipped) {
    n.push(
      `PyTorch BLAS: Debian's python3-torch is built with BLAS_INFO=generic and calls whatever libblas.so.3 resolves to; by default that is the reference (netlib) BLAS, which would make PyTorch's matrix products needlessly slow. scripts/ci-apt.sh installs libopenblas0-pthread, whose postinst makes OpenBLAS the libblas.so.3 alternative (update-alternatives, priority 100 over 10); when the alternative points elsewhere the bench preloads openblas-pthread/libblas.so.3 into the peer (LD_PRELOAD). The bench installs nothing. This run: ${pf.blas} via ${pf.blasSelection?.how} (mapped: ${(pf.blasLibraries ?? []).join(', ')}), one thread (torch.set_num_threads(1), OMP/OPENBLAS/MKL_NUM_THREADS=1).${refBlasNote(r)}`,
    );
    const trials = r.sections.latency?.pytorch?.int8EngineTrials;
    if (pf.quantizedEngine) {
      const tried = trials ? ` (batch-1 p50 trials: ${Object.entries(trials).map(([k, v]) => `${k} ${typeof v === 'number' ? `${v} us` : v}`).join(', ')})` : '';
      n.push(`PyTorch int8 (torch.quantization.quantize_dynamic on the Linear layers) ran on the '${pf.quantizedEngine}' quantized engine, the fastest of the engines this build has${tried}; Debian's build has no FBGEMM, the usual x86 engine.`);
    }
    n.push("PyTorch's student for latency has the observation normalization folded into its first Linear (fewer ops per call) and returns the argmax action like ours; the fp32 comparison uses the faster of eager and TorchScript (trace + freeze).");
  } else if (pf?.skipped) n.push(`PyTorch peer skipped: ${pf.skipped}`);
  const lat = r.sections.latency;
  const ungated = (lat?.rows ?? []).filter((x: any) => x.gate === 'fail').map((x: any) => `${x.format} (${x.backend})`);
  if (ungated.length) {
    n.push(`The export's parity gate refused the int8 artifacts of this student (${[...new Set((lat.rows ?? []).filter((x: any) => x.gate === 'fail').flatMap((x: any) => x.gateReasons ?? []))].join('; ')}): the int8 model \`compress --quantize int8\` made for this student did not pass. Their latency and size were measured on an export with the agreement gate off (same quantization, same files otherwise); they are not what \`edgedistill export\` ships today.`);
  }
  n.push('Left out: the C (c-int8) artifact is sized but not timed (no C runner in the latency harness); fp16 artifacts are sized but not timed; PyTorch is timed at batch 1 and 32 only with eager/TorchScript/dynamic-int8 (no torch.compile in 1.13).');
  if (keptDir) n.push(`Scratch directory kept: ${keptDir}`);
  return n;
}

process.exitCode = await main();
