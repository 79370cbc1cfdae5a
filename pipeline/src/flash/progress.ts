/**
 * Per-target progress on a terminal: one line per target, redrawn in place (at most 10 times a
 * second). Only used when stderr is a TTY; otherwise commands stay quiet until the summary.
 */
export interface FleetProgress {
  update(label: string, phase: string, detail: string): void;
  /** Final redraw; the lines stay on screen above the summary. */
  stop(): void;
}

export function createFleetProgress(labels: readonly string[], out: NodeJS.WriteStream = process.stderr): FleetProgress {
  const width = Math.max(...labels.map((l) => l.length));
  const state = new Map<string, string>(labels.map((l) => [l, 'waiting']));
  const started = Date.now();
  let drawn = 0;
  let last = 0;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const cols = () => (out.columns && out.columns > 20 ? out.columns : 120);
  const draw = () => {
    if (timer) clearTimeout(timer); // a draw now makes a pending one redundant
    timer = null;
    last = Date.now();
    let s = drawn > 0 ? `\x1b[${drawn}A` : '';
    for (const l of labels) {
      const line = `${l.padEnd(width)}  ${state.get(l) ?? ''}`;
      s += `\r\x1b[K${line.length > cols() - 1 ? `${line.slice(0, cols() - 2)}…` : line}\n`;
    }
    drawn = labels.length;
    out.write(s);
  };
  return {
    update(label, phase, detail) {
      if (stopped) return;
      const secs = ((Date.now() - started) / 1000).toFixed(0).padStart(4);
      state.set(label, `${secs}s  ${phase.padEnd(7)} ${detail}`);
      const due = 100 - (Date.now() - last);
      if (due <= 0) draw();
      else if (!timer) timer = setTimeout(draw, due);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      draw();
    },
  };
}
