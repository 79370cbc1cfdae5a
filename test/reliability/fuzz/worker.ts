/**
 * One fuzzing run of one target, in its own process (started by fuzz.test.ts):
 *
 *   node --import tsx test/reliability/fuzz/worker.ts TARGET SEED BUDGET_MS WORKDIR ARTIFACTS_DIR [MAX_CASES]
 *
 * Before each case the input is written to WORKDIR/current.bin ([u32 length][bytes]) and
 * WORKDIR/current.json (synchronous writes, so they survive a crash): if this process dies or hangs, the parent saves them. An error
 * that is not an EdgeDistillError fails the fast-check property; fast-check shrinks it and the
 * smallest input is saved under ARTIFACTS_DIR. The summary goes to WORKDIR/result.json.
 */
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { EdgeDistillError } from '../../../runtime/src/errors.js';
import { applyMutation, mutation, type Mutation } from './mutate.js';
import { TARGETS } from './targets.js';

export interface FuzzFailure {
  readonly kind: 'untyped' | 'poisoned' | 'crash' | 'hang';
  readonly target: string;
  readonly seed: number;
  readonly message: string;
  /** Files saved under test-artifacts/fuzz/. */
  readonly saved: string[];
  /** fast-check's counterexample (the mutation recipe), when there is one. */
  readonly counterexample?: unknown;
}

export interface FuzzResult {
  readonly target: string;
  readonly runtime: string;
  readonly seed: number;
  readonly cases: number;
  readonly accepted: number;
  /** EdgeDistillError codes seen, with counts. */
  readonly refused: Record<string, number>;
  readonly slowestMs: number;
  /** Inputs not run because they match the target's known bug. */
  readonly knownBugSkipped: number;
  readonly ms: number;
  readonly failures: FuzzFailure[];
}

async function main(): Promise<void> {
  const [name, seedArg, budgetArg, workdir, artifacts, maxArg] = process.argv.slice(2);
  const maxCases = maxArg ? Number(maxArg) : 10_000_000;
  const target = TARGETS.find((t) => t.name === name);
  if (!target) throw new Error(`unknown fuzz target ${name}`);
  const seed = Number(seedArg);
  const budgetMs = Number(budgetArg);
  const scratch = join(workdir, 'scratch');
  mkdirSync(scratch, { recursive: true });
  const ctx = { dir: scratch };
  const seeds = target.seeds();
  for (const [i, s] of seeds.entries()) {
    // Seeds hold to the contract too (some are hostile on purpose: those are refused, typed).
    try {
      await target.run(s, ctx, i);
    } catch (e) {
      if (!(e instanceof EdgeDistillError)) throw e;
    }
  }

  const bin = openSync(join(workdir, 'current.bin'), 'w');
  const meta = openSync(join(workdir, 'current.json'), 'w');
  let cases = 0;
  let accepted = 0;
  let slowestMs = 0;
  let knownBug = 0;
  const refused: Record<string, number> = {};
  const failures: FuzzFailure[] = [];
  const recent: { m: Mutation; bytes: Uint8Array }[] = [];
  const t0 = Date.now();

  // No truncation (on ext4, truncating and rewriting a file flushes it: 5 ms a case): current.bin is
  // [u32 length][bytes], current.json is padded with spaces (JSON.parse ignores them).
  const head = Buffer.alloc(4);
  let metaLen = 0;
  const record = (m: Mutation, bytes: Uint8Array) => {
    head.writeUInt32LE(bytes.length, 0);
    writeSync(bin, head, 0, 4, 0);
    writeSync(bin, bytes, 0, bytes.length, 4);
    let text = JSON.stringify({ target: name, seed, case: cases, mutation: m });
    metaLen = Math.max(metaLen, text.length);
    text = text.padEnd(metaLen, ' ');
    writeSync(meta, text, 0);
  };
  const save = (tag: string, items: { m: Mutation; bytes: Uint8Array }[], extra: Record<string, unknown>): string[] => {
    mkdirSync(artifacts, { recursive: true });
    const out: string[] = [];
    items.forEach((it, k) => {
      const base = join(artifacts, `${name}-seed${seed}-${tag}${items.length > 1 ? `-${k}` : ''}`);
      writeFileSync(`${base}.bin`, it.bytes);
      writeFileSync(`${base}.json`, `${JSON.stringify({ target: name, seed, mutation: it.m, ...extra }, null, 2)}\n`);
      out.push(`${base}.bin`, `${base}.json`);
    });
    return out;
  };

  let poisoned: string | null = null;
  const property = fc.asyncProperty(mutation(seeds, target.json), async (m) => {
    if (poisoned) return; // stop doing work once the runtime is unusable; reported below
    const bytes = applyMutation(m, seeds);
    if (process.env.EDGEDISTILL_FUZZ_RUN_KNOWN_BUGS !== '1' && target.knownBug?.matches(bytes)) {
      knownBug++;
      return;
    }
    cases++;
    record(m, bytes);
    recent.push({ m, bytes });
    if (recent.length > 20) recent.shift();
    const c0 = performance.now();
    try {
      await target.run(bytes, ctx, m.seed);
      accepted++;
    } catch (e) {
      if (!(e instanceof EdgeDistillError)) throw e;
      refused[e.code] = (refused[e.code] ?? 0) + 1;
    } finally {
      slowestMs = Math.max(slowestMs, performance.now() - c0);
    }
    if (target.health && cases % 20 === 0) {
      try {
        await target.health(ctx);
      } catch (e) {
        poisoned = `a good input fails after case ${cases}: ${(e as Error).message}`;
      }
    }
  });

  const run = await fc.check(property, { seed, numRuns: maxCases, plugins: [fc.interruptAfterTimeLimit(budgetMs)] });
  if (run.failed && run.counterexample) {
    // The shrunk counterexample (a mutation recipe), the error it raised and how to replay it.
    const m = (run.counterexample as unknown as [Mutation])[0];
    const bytes = applyMutation(m, seeds);
    const err = run.errorInstance as Error;
    const message = `${err?.name ?? 'Error'}: ${err?.message ?? String(err)}`;
    failures.push({
      kind: 'untyped',
      target: name,
      seed,
      message,
      counterexample: m,
      saved: save('untyped', [{ m, bytes }], { error: message, stack: err?.stack, counterexamplePath: run.counterexamplePath, shrinks: run.numShrinks }),
    });
  }
  if (poisoned) failures.push({ kind: 'poisoned', target: name, seed, message: poisoned, saved: save('poisoned', recent, { error: poisoned }) });
  if (target.health && !poisoned) {
    try {
      await target.health(ctx);
    } catch (e) {
      failures.push({ kind: 'poisoned', target: name, seed, message: `a good input fails at the end: ${(e as Error).message}`, saved: save('poisoned', recent, {}) });
    }
  }
  closeSync(bin);
  closeSync(meta);
  const result: FuzzResult = { target: name, runtime: target.runtime, seed, cases, accepted, refused, slowestMs: Math.round(slowestMs), knownBugSkipped: knownBug, ms: Date.now() - t0, failures };
  writeFileSync(join(workdir, 'result.json'), JSON.stringify(result, null, 2));
}

await main();
// onnxruntime-web and LiteRT keep handles open; the result is written, so leave now.
process.exit(0);
