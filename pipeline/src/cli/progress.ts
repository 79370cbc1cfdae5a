/**
 * The one progress helper of the CLI (cli-progress on stderr). Progress shows only on a terminal:
 * stdout and stderr both TTYs, not CI, and neither --json nor --quiet; otherwise every helper
 * returns a no-op, so commands call it unconditionally and scripts and logs stay clean. cli-progress
 * is imported only when a display is actually created (this module is cheap to import).
 */
import { bold, dim, green, red } from './shared.js';

export interface ProgressFlags {
  json?: boolean;
  quiet?: boolean;
}

interface Streams {
  readonly stdout: { isTTY?: boolean };
  readonly stderr: { isTTY?: boolean };
}

/** Whether progress may be drawn: a TTY on stdout and stderr, not CI, no --json / --quiet. */
export function progressEnabled(flags: ProgressFlags, streams: Streams = process, env: NodeJS.ProcessEnv = process.env): boolean {
  return !flags.json && !flags.quiet && Boolean(streams.stdout.isTTY) && Boolean(streams.stderr.isTTY) && !env.CI;
}

export interface Bar {
  /** Moves the bar to `value` and replaces the named fields of its format. */
  update(value: number, fields?: Record<string, string | number>): void;
  setTotal(total: number): void;
  getTotal(): number;
  /** Prints a line above the bar. */
  log(line: string): void;
  /** Removes the bar (the command's own output follows). */
  stop(): void;
  readonly active: boolean;
}

const noopBar = (total = 0): Bar => ({ update() {}, setTotal: (t) => void (total = t), getTotal: () => total, log() {}, stop() {}, active: false });

/** Width left for free text on one line of the terminal. */
export const textWidth = (used: number): number => Math.max(20, (process.stderr.columns || 100) - used);
const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

async function multiBar(format: string) {
  const { MultiBar, Presets } = (await import('cli-progress')).default;
  return new MultiBar({ format, stream: process.stderr, hideCursor: true, clearOnComplete: true, barsize: 24, fps: 8, autopadding: true }, Presets.shades_classic);
}

/**
 * One bar. `format` takes cli-progress tokens ({bar}, {value}, {total}, {percentage},
 * {duration_formatted}, {eta_formatted}) and the names in `fields`.
 */
export async function createBar(flags: ProgressFlags, spec: { format: string; total: number; fields?: Record<string, string | number> }): Promise<Bar> {
  if (!progressEnabled(flags)) return noopBar(spec.total);
  const multi = await multiBar(spec.format);
  const bar = multi.create(spec.total, 0, spec.fields ?? {});
  let stopped = false;
  return {
    update: (v, f) => bar.update(v, f ?? {}),
    setTotal: (t) => bar.setTotal(t),
    getTotal: () => bar.getTotal(),
    log: (line) => multi.log(`${line}\n`),
    stop() {
      if (stopped) return;
      stopped = true;
      multi.stop();
    },
    active: true,
  };
}

/** Runs `fn` with a bar that is removed when it ends, however it ends. */
export async function withBar<T>(flags: ProgressFlags, spec: { format: string; total: number; fields?: Record<string, string | number> }, fn: (bar: Bar) => Promise<T>): Promise<T> {
  const bar = await createBar(flags, spec);
  try {
    return await fn(bar);
  } finally {
    bar.stop();
  }
}

export interface Lines {
  /** Sets a target's phase (one of the phases given at creation) and detail. */
  update(label: string, phase: string, detail: string): void;
  stop(): void;
}

/** One line per target (flash, check over ssh), each a small bar over its phases. */
export async function createLines(flags: ProgressFlags, labels: readonly string[], phases: readonly string[]): Promise<Lines> {
  if (!progressEnabled(flags) || labels.length === 0) return { update() {}, stop() {} };
  const width = Math.max(...labels.map((l) => l.length));
  const multi = await multiBar(`{label} {bar} {phase} {duration_formatted} {detail}`);
  const bars = new Map(labels.map((l) => [l, multi.create(phases.length, 0, { label: l.padEnd(width), phase: 'waiting'.padEnd(8), detail: '' })]));
  const at = new Map<string, number>();
  return {
    update(label, phase, detail) {
      // A phase not in the list (e.g. "failed") keeps the bar where it was.
      const i = phases.indexOf(phase);
      if (i >= 0) at.set(label, i + 1);
      bars.get(label)?.update(at.get(label) ?? 0, { phase: phase.padEnd(8), detail: cut(detail, textWidth(width + 50)) });
    },
    stop: () => multi.stop(),
  };
}

/** Events of a multi-stage job (structurally the run's RunProgress). */
export interface StageEvent {
  readonly stage: string;
  readonly index: number;
  readonly total: number;
  readonly event: 'start' | 'update' | 'done' | 'failed' | 'skipped';
  readonly detail: string;
  readonly seconds: number;
}

export interface StagesDisplay {
  event(e: StageEvent): void;
  stop(): void;
}

/**
 * The run's display: one bar over the stages (current stage, its time, what it is doing), and
 * one line per finished stage above it (status, time, outcome).
 */
export async function createStagesDisplay(flags: ProgressFlags, total: number): Promise<StagesDisplay> {
  if (!progressEnabled(flags)) return { event() {}, stop() {} };
  const bar = await createBar(flags, { format: '{bar} {value}/{total} {stage} {secs} {detail}', total, fields: { stage: '', secs: '', detail: '' } });
  let cur: { stage: string; index: number; startedAt: number; detail: string } | null = null;
  const draw = () => {
    if (!cur) return;
    const secs = `${((Date.now() - cur.startedAt) / 1000).toFixed(1)}s`.padStart(6);
    bar.update(cur.index, { stage: cur.stage.padEnd(9), secs, detail: cut(cur.detail, textWidth(60)) });
  };
  const timer = setInterval(draw, 250);
  timer.unref();
  return {
    event(e) {
      if (e.event === 'start') cur = { stage: e.stage, index: e.index, startedAt: Date.now() - e.seconds * 1000, detail: '' };
      else if (e.event === 'update' && cur) cur.detail = e.detail;
      else {
        const mark = e.event === 'done' ? green('✓') : e.event === 'failed' ? red('✗') : dim('-');
        const time = e.event === 'skipped' ? '      ' : `${e.seconds.toFixed(1).padStart(5)}s`;
        const plain = cut(e.event === 'skipped' ? `skipped: ${e.detail}` : e.detail, textWidth(20));
        bar.log(`${mark} ${bold(e.stage.padEnd(9))} ${time}  ${e.event === 'failed' ? red(plain) : e.event === 'skipped' ? dim(plain) : plain}`);
        if (cur) cur = { ...cur, index: e.index + 1, detail: '' };
      }
      draw();
    },
    stop() {
      clearInterval(timer);
      bar.stop();
    },
  };
}
