/**
 * Inline SVG charts, generated here (no chart library): line chart, bar chart with whiskers,
 * horizontal bar chart, and a latency dot plot. Each returns a <figure> holding the SVG (with
 * <title> and <desc> for screen readers) and a <details> table with the same numbers. Colours come
 * from CSS classes (style.ts), so every chart shares one palette.
 */
import { esc, formatCompact } from './format.js';
import { binaryTicks, logTicks, niceTicks, scaleLinear, scaleLog, type Scale } from './scale.js';

/** Average glyph width at 12 px in the fonts we fall back to (DejaVu Sans is among the widest). */
const CHAR_PX = 7;
const r1 = (v: number) => Math.round(v * 10) / 10;

export interface TableSpec {
  readonly head: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** Columns (by index) that hold numbers: right-aligned. */
  readonly numeric?: readonly number[];
  /** Columns of long text that may wrap (the others stay on one line). */
  readonly wrap?: readonly number[];
}

export function htmlTable(t: TableSpec, cls = 'data'): string {
  const num = new Set(t.numeric ?? []);
  const wrap = new Set(t.wrap ?? []);
  const cell = (tag: string, c: string, i: number) => {
    const cls = [num.has(i) ? 'num' : '', wrap.has(i) && tag === 'td' ? 'wrap' : ''].filter(Boolean).join(' ');
    return `<${tag}${cls ? ` class="${cls}"` : ''}>${esc(c)}</${tag}>`;
  };
  return `<div class="table-wrap"><table class="${cls}"><thead><tr>${t.head.map((h, i) => cell('th', h, i)).join('')}</tr></thead><tbody>${t.rows
    .map((r) => `<tr>${r.map((c, i) => cell('td', c, i)).join('')}</tr>`)
    .join('')}</tbody></table></div>`;
}

export interface Frame {
  /** Unique element id prefix; also `data-chart` for tests and styling. */
  readonly id: string;
  readonly title: string;
  /** One or two sentences saying what the chart shows and what to look for. */
  readonly desc: string;
}

function svgOpen(f: Frame, w: number, h: number, kind: string): string {
  return `<svg class="chart ${kind}" data-chart="${esc(f.id)}" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-labelledby="${esc(f.id)}-t ${esc(f.id)}-d"><title id="${esc(f.id)}-t">${esc(f.title)}</title><desc id="${esc(f.id)}-d">${esc(f.desc)}</desc>`;
}

function figure(f: Frame, svg: string, table: TableSpec, legend = ''): string {
  return `<figure class="chart-figure" id="${esc(f.id)}"><figcaption>${esc(f.title)}</figcaption>${legend}<div class="svg-wrap">${svg}</div><details><summary>Numbers</summary>${htmlTable(table)}</details></figure>`;
}

function text(x: number, y: number, s: string, cls: string, anchor: 'start' | 'middle' | 'end' = 'start', extra = ''): string {
  return `<text x="${r1(x)}" y="${r1(y)}" class="${cls}" text-anchor="${anchor}"${extra}>${esc(s)}</text>`;
}

/** Legend as HTML (wraps on narrow screens, unlike SVG text). */
export function legendHtml(items: readonly { label: string; cls: string; shape?: 'dot' | 'box' | 'line' | 'ring' | 'diamond' }[]): string {
  return `<ul class="legend">${items.map((i) => `<li><span class="key ${i.shape ?? 'box'} ${esc(i.cls)}"></span>${esc(i.label)}</li>`).join('')}</ul>`;
}

function yAxis(ticks: readonly number[], y: Scale, x0: number, x1: number, fmt: (v: number) => string): string {
  return ticks
    .map((t) => `<line class="grid" x1="${x0}" x2="${x1}" y1="${r1(y(t))}" y2="${r1(y(t))}"/>${text(x0 - 6, y(t) + 4, fmt(t), 'tick', 'end')}`)
    .join('');
}

function xAxis(ticks: readonly number[], x: Scale, y0: number, y1: number, fmt: (v: number) => string): string {
  return ticks
    .map((t) => `<line class="grid" y1="${y0}" y2="${y1}" x1="${r1(x(t))}" x2="${r1(x(t))}"/>${text(x(t), y1 + 16, fmt(t), 'tick', 'middle')}`)
    .join('');
}

// ---- line chart ----

export interface LineSeries {
  readonly name: string;
  readonly cls: string;
  readonly points: readonly (readonly [number, number])[];
}

export interface LineChartSpec extends Frame {
  readonly series: readonly LineSeries[];
  readonly xLabel: string;
  readonly yLabel: string;
  readonly xFormat?: (v: number) => string;
  readonly yFormat?: (v: number) => string;
  readonly yLog?: boolean;
  /** Clamp the y domain (e.g. [0, 1] for shares). */
  readonly yClamp?: readonly [number, number];
  readonly target?: { readonly value: number; readonly label: string };
  /** Text table column titles for x and each series. */
  readonly table: TableSpec;
  readonly width?: number;
}

export function lineChart(s: LineChartSpec): string {
  const W = s.width ?? 460;
  const H = 270;
  const m = { l: 54, r: 14, t: 16, b: 44 };
  const xs = s.series.flatMap((q) => q.points.map((p) => p[0]));
  const ys = s.series.flatMap((q) => q.points.map((p) => p[1])).concat(s.target ? [s.target.value] : []);
  const xt = niceTicks(Math.min(0, ...xs), Math.max(...xs), 5);
  const x = scaleLinear(xt.min, xt.max, m.l, W - m.r);
  let y: Scale;
  let yTicks: readonly number[];
  if (s.yLog) {
    const lt = logTicks(Math.min(...ys.filter((v) => v > 0)), Math.max(...ys));
    y = scaleLog(lt.min, lt.max, H - m.b, m.t);
    yTicks = lt.ticks.length > 7 ? lt.ticks.filter((t) => Number.isInteger(Math.log10(t))) : lt.ticks;
  } else {
    let lo = Math.min(...ys);
    let hi = Math.max(...ys);
    if (s.yClamp) {
      // Leave a little headroom so a line at exactly the clamp is not drawn on the frame.
      lo = Math.max(s.yClamp[0], lo - (hi - lo) * 0.05);
      hi = Math.min(s.yClamp[1], hi + (hi - lo) * 0.05);
    }
    const yt = niceTicks(lo, hi, 5);
    const min = s.yClamp ? Math.max(s.yClamp[0], yt.min) : yt.min;
    const max = s.yClamp ? Math.min(s.yClamp[1], yt.max) : yt.max;
    y = scaleLinear(min, max, H - m.b, m.t);
    yTicks = yt.ticks.filter((t) => t >= min - 1e-12 && t <= max + 1e-12);
  }
  const xf = s.xFormat ?? formatCompact;
  const yf = s.yFormat ?? formatCompact;
  let body = `<g class="axes">${yAxis(yTicks, y, m.l, W - m.r, yf)}${xAxis(xt.ticks, x, m.t, H - m.b, xf)}</g>`;
  body += text((m.l + W - m.r) / 2, H - 6, s.xLabel, 'axis-label', 'middle');
  body += text(14, (m.t + H - m.b) / 2, s.yLabel, 'axis-label', 'middle', ` transform="rotate(-90 14 ${r1((m.t + H - m.b) / 2)})"`);
  if (s.target) {
    const ty = r1(y(s.target.value));
    body += `<line class="target" x1="${m.l}" x2="${W - m.r}" y1="${ty}" y2="${ty}"/>${text(W - m.r - 4, ty - 5, s.target.label, 'target-label', 'end')}`;
  }
  for (const q of s.series) {
    const pts = q.points.map(([a, b]) => [r1(x(a)), r1(y(b))] as const);
    if (pts.length > 1) body += `<path class="series ${esc(q.cls)}" d="M${pts.map((p) => `${p[0]},${p[1]}`).join('L')}"><title>${esc(q.name)}</title></path>`;
    body += `<g class="points ${esc(q.cls)}">${pts.map((p, i) => `<circle class="point" cx="${p[0]}" cy="${p[1]}" r="3"><title>${esc(`${xf(q.points[i][0])}: ${yf(q.points[i][1])}`)}</title></circle>`).join('')}</g>`;
  }
  const legend = s.series.length > 1 || s.target ? legendHtml([...s.series.map((q) => ({ label: q.name, cls: q.cls, shape: 'line' as const })), ...(s.target ? [{ label: s.target.label, cls: 'target', shape: 'line' as const }] : [])]) : '';
  return figure(s, `${svgOpen(s, W, H, 'line-chart')}${body}</svg>`, s.table, legend);
}

// ---- vertical bars with whiskers ----

export interface Bar {
  readonly label: string;
  readonly value: number;
  readonly std?: number | null;
  readonly cls: string;
  /** Second label line (e.g. "100 episodes"). */
  readonly sub?: string;
}

export interface BarChartSpec extends Frame {
  readonly bars: readonly Bar[];
  readonly yLabel: string;
  readonly format: (v: number) => string;
  readonly table: TableSpec;
  readonly width?: number;
}

export function barChart(s: BarChartSpec): string {
  const W = s.width ?? 460;
  const H = 270;
  const m = { l: 54, r: 14, t: 24, b: 46 };
  const lows = s.bars.map((b) => b.value - (b.std ?? 0));
  const highs = s.bars.map((b) => b.value + (b.std ?? 0));
  const yt = niceTicks(Math.min(0, ...lows), Math.max(0, ...highs), 5);
  const y = scaleLinear(yt.min, yt.max, H - m.b, m.t);
  const slot = (W - m.l - m.r) / Math.max(1, s.bars.length);
  const bw = Math.min(72, slot * 0.56);
  let body = `<g class="axes">${yAxis(yt.ticks, y, m.l, W - m.r, s.format)}</g>`;
  body += `<line class="baseline" x1="${m.l}" x2="${W - m.r}" y1="${r1(y(0))}" y2="${r1(y(0))}"/>`;
  body += text(14, (m.t + H - m.b) / 2, s.yLabel, 'axis-label', 'middle', ` transform="rotate(-90 14 ${r1((m.t + H - m.b) / 2)})"`);
  s.bars.forEach((b, i) => {
    const cx = m.l + slot * (i + 0.5);
    const y0 = y(0);
    const yv = y(b.value);
    const top = Math.min(y0, yv);
    const h = Math.max(1, Math.abs(y0 - yv));
    body += `<rect class="bar ${esc(b.cls)}" x="${r1(cx - bw / 2)}" y="${r1(top)}" width="${r1(bw)}" height="${r1(h)}" rx="3"><title>${esc(`${b.label}: ${s.format(b.value)}${b.std ? ` ± ${s.format(b.std)}` : ''}`)}</title></rect>`;
    if (b.std) {
      const ya = r1(y(b.value - b.std));
      const yb = r1(y(b.value + b.std));
      const c = r1(cx);
      body += `<path class="whisker" d="M${c},${ya}V${yb}M${r1(cx - 8)},${ya}H${r1(cx + 8)}M${r1(cx - 8)},${yb}H${r1(cx + 8)}"/>`;
    }
    // Value above the bar (or below a negative one), clear of the whisker.
    const edge = b.value >= 0 ? y(b.value + (b.std ?? 0)) - 6 : y(b.value - (b.std ?? 0)) + 14;
    body += text(cx, edge, s.format(b.value), 'value', 'middle');
    body += text(cx, H - m.b + 16, b.label, 'bar-label', 'middle');
    if (b.sub) body += text(cx, H - m.b + 30, b.sub, 'tick', 'middle');
  });
  return figure(s, `${svgOpen(s, W, H, 'bar-chart')}${body}</svg>`, s.table);
}

// ---- row charts: wide (labels left) and compact (labels above) variants ----

/**
 * Charts with one row per item are drawn twice: wide, labels left of the rows, and compact, each
 * label on its own line above its row, for narrow screens (CSS shows one: a viewBox scaled down
 * to a phone would shrink the text to nothing). Only the shown one is in the accessibility tree.
 */
function rowFigure(f: Frame, wide: string, compact: string, table: TableSpec, legend = ''): string {
  return `<figure class="chart-figure rows" id="${esc(f.id)}"><figcaption>${esc(f.title)}</figcaption>${legend}<div class="svg-wrap"><div class="wide">${wide}</div><div class="compact">${compact}</div></div><details><summary>Numbers</summary>${htmlTable(table)}</details></figure>`;
}

const WIDE_W = 960;
const COMPACT_W = 400;

interface RowLayout {
  readonly W: number;
  readonly H: number;
  /** Plot's x range. */
  readonly x0: number;
  readonly x1: number;
  /** Vertical centre of row i's mark, and where its label sits. */
  readonly cy: (i: number) => number;
  readonly labelX: number;
  readonly labelY: (i: number) => number;
  readonly labelAnchor: 'start' | 'end';
  readonly top: number;
  readonly bottom: number;
  readonly compact: boolean;
}

function rowLayout(labels: readonly string[], compact: boolean, rightRoom: number): RowLayout {
  const n = labels.length;
  if (compact) {
    const row = 42;
    const top = 6;
    // Room at both ends for half of an end tick's label ("10 ms"), centred on the plot's edge.
    const x0 = 22;
    const x1 = COMPACT_W - 24;
    return { W: COMPACT_W, H: top + row * n + 40, x0, x1, top, bottom: top + row * n, compact, labelX: 4, labelAnchor: 'start', labelY: (i) => top + i * row + 14, cy: (i) => top + i * row + 28 };
  }
  const row = 30;
  const top = 8;
  const lw = labelWidth(labels, 90, 260);
  return { W: WIDE_W, H: top + row * n + 42, x0: lw, x1: WIDE_W - rightRoom, top, bottom: top + row * n, compact, labelX: lw - 10, labelAnchor: 'end', labelY: (i) => top + i * row + row / 2 + 4, cy: (i) => top + i * row + row / 2 };
}

export interface HBar {
  readonly label: string;
  readonly value: number;
  readonly cls: string;
}

export interface HBarChartSpec extends Frame {
  readonly bars: readonly HBar[];
  /** Axis: log2 ticks for bytes, log10 ticks, or linear from zero. */
  readonly axis: 'bytes-log' | 'log' | 'linear';
  readonly format: (v: number) => string;
  readonly tickFormat?: (v: number) => string;
  readonly xLabel: string;
  readonly table: TableSpec;
}

const labelWidth = (labels: readonly string[], min: number, max: number) =>
  Math.min(max, Math.max(min, ...labels.map((l) => l.length * CHAR_PX + 12)));

function hbarSvg(s: HBarChartSpec, compact: boolean): string {
  const L = rowLayout(s.bars.map((b) => b.label), compact, 86);
  const values = s.bars.map((b) => b.value);
  const pos = values.filter((v) => v > 0);
  let x: Scale;
  let ticks: readonly number[];
  let base: number;
  if (s.axis === 'linear' || pos.length === 0) {
    const nt = niceTicks(0, Math.max(0, ...values), compact ? 4 : 6);
    x = scaleLinear(0, nt.max, L.x0, L.x1);
    ticks = nt.ticks;
    base = 0;
  } else {
    const lt = s.axis === 'bytes-log' ? binaryTicks(Math.min(...pos), Math.max(...pos), compact ? 5 : 8) : logTicks(Math.min(...pos) / 10, Math.max(...pos));
    x = s.axis === 'bytes-log' ? scaleLog(lt.min, lt.max, L.x0, L.x1) : scaleLog(lt.min, lt.max, L.x0, L.x1);
    ticks = lt.ticks;
    base = lt.min;
  }
  const tf = s.tickFormat ?? s.format;
  let body = `<g class="axes">${xAxis(ticks, x, L.top, L.bottom, tf)}</g>`;
  body += text((L.x0 + L.x1) / 2, L.H - 6, s.xLabel, 'axis-label', 'middle');
  s.bars.forEach((b, i) => {
    const bh = compact ? 12 : 18;
    const yTop = r1(L.cy(i) - bh / 2);
    const x0 = x(base);
    const w = Math.max(2, x(Math.max(b.value, base)) - x0);
    body += `<rect class="bar ${esc(b.cls)}" x="${r1(x0)}" y="${yTop}" width="${r1(w)}" height="${bh}" rx="2"><title>${esc(`${b.label}: ${s.format(b.value)}`)}</title></rect>`;
    body += text(L.labelX, L.labelY(i), b.label, 'bar-label', L.labelAnchor);
    if (compact) body += text(L.W - 4, L.labelY(i), s.format(b.value), 'value', 'end');
    else body += text(x0 + w + 6, L.cy(i) + 4, s.format(b.value), 'value', 'start');
  });
  const f = compact ? { ...s, id: `${s.id}-c` } : s;
  return `${svgOpen(f, L.W, L.H, `hbar-chart${compact ? ' compact' : ''}`)}${body}</svg>`;
}

export function hbarChart(s: HBarChartSpec): string {
  return rowFigure(s, hbarSvg(s, false), hbarSvg(s, true), s.table);
}

// ---- latency dot plot ----

export interface LatencyRow {
  readonly label: string;
  readonly cls: string;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly min?: number | null;
}

export interface DotPlotSpec extends Frame {
  readonly rows: readonly LatencyRow[];
  readonly format: (v: number) => string;
  readonly tickFormat?: (v: number) => string;
  readonly limit?: { readonly value: number; readonly label: string } | null;
  readonly table: TableSpec;
}

export const LATENCY_MARKS = [
  { key: 'p50', label: 'p50', cls: 'p50', shape: 'dot' },
  { key: 'p90', label: 'p90', cls: 'p90', shape: 'dot' },
  { key: 'p99', label: 'p99', cls: 'p99', shape: 'diamond' },
  { key: 'max', label: 'max', cls: 'max', shape: 'ring' },
] as const;

function dotPlotSvg(s: DotPlotSpec, compact: boolean): string {
  const L = rowLayout(s.rows.map((r) => r.label), compact, 28);
  const all = s.rows.flatMap((r) => [r.min ?? r.p50, r.p50, r.p90, r.p99, r.max]).concat(s.limit ? [s.limit.value] : []);
  const lt = logTicks(Math.min(...all.filter((v) => v > 0)), Math.max(...all));
  const x = scaleLog(lt.min, lt.max, L.x0, L.x1);
  const maxTicks = compact ? 5 : 9;
  let ticks = lt.ticks;
  if (ticks.length > maxTicks) ticks = ticks.filter((t) => Number.isInteger(Math.log10(t)));
  if (ticks.length > maxTicks) ticks = ticks.filter((t) => Math.round(Math.log10(t)) % 2 === 0);
  const tf = s.tickFormat ?? s.format;
  let body = `<g class="axes">${xAxis(ticks, x, L.top, L.bottom, tf)}</g>`;
  body += text((L.x0 + L.x1) / 2, L.H - 6, 'one call at batch 1, log scale', 'axis-label', 'middle');
  s.rows.forEach((r, i) => {
    const cy = r1(L.cy(i));
    const lo = r.min ?? r.p50;
    body += `<g class="latency-row ${esc(r.cls)}">`;
    body += text(L.labelX, L.labelY(i), r.label, 'bar-label', L.labelAnchor);
    if (compact) body += text(L.W - 4, L.labelY(i), `p50 ${s.format(r.p50)} · p99 ${s.format(r.p99)}`, 'tick', 'end');
    body += `<line class="range" x1="${r1(x(lo))}" x2="${r1(x(r.max))}" y1="${cy}" y2="${cy}"/>`;
    body += `<rect class="iqr" x="${r1(x(r.p50))}" y="${cy - 5}" width="${r1(Math.max(2, x(r.p99) - x(r.p50)))}" height="10" rx="2"/>`;
    for (const k of LATENCY_MARKS) {
      const v = r[k.key];
      const px = r1(x(v));
      const tip = `<title>${esc(`${r.label} ${k.label}: ${s.format(v)}`)}</title>`;
      if (k.shape === 'diamond') body += `<path class="point mark ${k.cls}" d="M${px},${cy - 6}L${px + 6},${cy}L${px},${cy + 6}L${px - 6},${cy}Z">${tip}</path>`;
      else body += `<circle class="point mark ${k.cls}" cx="${px}" cy="${cy}" r="${k.shape === 'ring' ? 4.5 : 5}">${tip}</circle>`;
    }
    body += '</g>';
  });
  if (s.limit) {
    const lx = r1(x(s.limit.value));
    body += `<line class="limit" x1="${lx}" x2="${lx}" y1="${L.top - 4}" y2="${L.bottom}"><title>${esc(s.limit.label)}</title></line>`;
  }
  const f = compact ? { ...s, id: `${s.id}-c` } : s;
  return `${svgOpen(f, L.W, L.H, `dot-plot${compact ? ' compact' : ''}`)}${body}</svg>`;
}

/**
 * One row per artifact on a log axis in microseconds: a thin line from min to max, a band from
 * p50 to p99, and a marker at p50, p90, p99 and max. A dashed line marks the budget (control period).
 */
export function latencyDotPlot(s: DotPlotSpec): string {
  const legend = legendHtml([
    ...LATENCY_MARKS.map((k) => ({ label: k.label, cls: k.cls, shape: k.shape })),
    { label: 'p50 to p99', cls: 'iqr', shape: 'box' as const },
    ...(s.limit ? [{ label: s.limit.label, cls: 'limit', shape: 'line' as const }] : []),
  ]);
  return rowFigure(s, dotPlotSvg(s, false), dotPlotSvg(s, true), s.table, legend);
}

