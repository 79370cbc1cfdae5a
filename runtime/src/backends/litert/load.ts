/**
 * Loads LiteRT.js (`@litertjs/core`, WASM + XNNPACK) in Node, offline, from the wasm files shipped
 * in the package directory.
 *
 * LiteRT.js is written for browsers and workers: `loadLiteRt(dir)` calls `importScripts(dir/x.js)`
 * (or appends a <script> tag), then reads `self.ModuleFactory`. The emscripten script itself is
 * Node-aware (it reads the .wasm next to it with `require('node:fs')` and `__dirname`), but as
 * ESM-loaded code it sees neither `require` nor `__dirname`. So, only while LiteRT initialises:
 * - `globalThis.self` is a private shim object (not globalThis, so nothing starts to believe it
 *   runs in a worker), which receives `ModuleFactory`;
 * - `globalThis.importScripts` compiles the script with vm.runInThisContext inside a function
 *   whose parameters supply `require`, `__dirname` and `__filename` (scoped, not global), runs it
 *   and puts the factory on the shim.
 * Both globals are removed (or restored) once loading settles.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { runInThisContext } from 'node:vm';
import { EdgeDistillError } from '../../errors.js';

type LiteRtCore = typeof import('@litertjs/core');
export type LiteRtInstance = Awaited<ReturnType<LiteRtCore['loadLiteRt']>>;

export interface LoadedLiteRt {
  readonly core: LiteRtCore;
  readonly liteRt: LiteRtInstance;
  /** Directory the wasm files were read from. */
  readonly wasmDir: string;
  /** The emscripten script LiteRT.js chose (compat, relaxed-SIMD, ...), for reports. */
  readonly wasmFile: string;
  /** LiteRT's own log lines (INFO/WARNING/ERROR), captured instead of printed. */
  readonly log: LiteRtLog;
}

/**
 * LiteRT's C++ logging (and emscripten's stdout/stderr) goes here instead of the console: the
 * loader reads it to notice failures LiteRT only logs. `EDGEDISTILL_LITERT_LOG=1` echoes to stderr.
 */
export class LiteRtLog {
  private readonly lines: string[] = [];
  /** Number of lines ever written; `since(mark)` reads what came after a mark. */
  count = 0;
  write(...parts: unknown[]): void {
    const line = parts.map((p) => (typeof p === 'string' ? p : String(p))).join(' ');
    this.lines.push(line);
    if (this.lines.length > 500) this.lines.shift();
    this.count++;
    if (process.env.EDGEDISTILL_LITERT_LOG === '1') process.stderr.write(`[litert] ${line}\n`);
  }
  since(mark: number): string[] {
    const n = Math.min(this.count - mark, this.lines.length);
    return n > 0 ? this.lines.slice(this.lines.length - n) : [];
  }
  /** Lines after `mark` that report an error. */
  errorsSince(mark: number): string[] {
    return this.since(mark).filter((l) => /^(ERROR|FATAL)\b/.test(l) || l.includes('Aborted('));
  }
}

let loading: Promise<LoadedLiteRt> | null = null;

/** Directory of `@litertjs/core`'s wasm files, resolved from this package. */
export function liteRtWasmDir(): string {
  const req = createRequire(import.meta.url);
  return join(dirname(req.resolve('@litertjs/core/package.json')), 'wasm');
}

/** Initialise LiteRT.js once per process (memoized; a failed attempt may be retried). */
export function loadLiteRt(): Promise<LoadedLiteRt> {
  if (!loading) {
    loading = init().catch((e: unknown) => {
      loading = null;
      throw e instanceof EdgeDistillError
        ? e
        : new EdgeDistillError('UNSUPPORTED', `LiteRT.js could not be initialised: ${String(e)}`, {
            cause: e,
            suggestion: 'check that @litertjs/core and its wasm/ directory are installed',
          });
    });
  }
  return loading;
}

async function init(): Promise<LoadedLiteRt> {
  const wasmDir = liteRtWasmDir();
  const core: LiteRtCore = await import('@litertjs/core');
  const existing = core.getGlobalLiteRtPromise();
  if (existing) {
    // Someone else in this process loaded it already; share it.
    const liteRt = await existing;
    return { core, liteRt, wasmDir, wasmFile: 'unknown (loaded elsewhere)', log: new LiteRtLog() };
  }

  const g = globalThis as Record<string, unknown>;
  const had = { self: 'self' in g, importScripts: 'importScripts' in g };
  const saved = { self: g.self, importScripts: g.importScripts };
  const shim: { ModuleFactory?: unknown; Module?: unknown } = {};
  let wasmFile = '';
  const log = new LiteRtLog();
  const logConsole = Object.assign(Object.create(console) as Console, {
    log: log.write.bind(log),
    info: log.write.bind(log),
    warn: log.write.bind(log),
    error: log.write.bind(log),
    debug: log.write.bind(log),
  });
  g.self = shim;
  g.importScripts = (url: string) => {
    const file = String(url);
    wasmFile = basename(file);
    const source = readFileSync(file, 'utf8');
    const wrapper = runInThisContext(
      `(function (require, __dirname, __filename, module, exports, console) {\n${source}\n;return ModuleFactory;\n})`,
      { filename: file },
    ) as (...args: unknown[]) => unknown;
    // `console` is a parameter too: emscripten binds its out/err to it once, so LiteRT's logging
    // lands in `log` for the whole life of the module.
    shim.ModuleFactory = wrapper(createRequire(file), dirname(file), file, undefined, undefined, logConsole);
  };
  // LiteRT.js tries WebGPU for its default environment and console.warns when there is none
  // (always, in Node): route that one message to the log.
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('Failed to create default WebGPU device')) {
      log.write(...args);
    } else warn.apply(console, args);
  };
  try {
    // A directory path lets LiteRT.js pick the variant (compat vs relaxed SIMD) for this Node.
    const liteRt = await core.loadLiteRt(wasmDir.endsWith('/') ? wasmDir : `${wasmDir}/`);
    return { core, liteRt, wasmDir, wasmFile, log };
  } finally {
    console.warn = warn;
    if (had.self) g.self = saved.self;
    else delete g.self;
    if (had.importScripts) g.importScripts = saved.importScripts;
    else delete g.importScripts;
  }
}
