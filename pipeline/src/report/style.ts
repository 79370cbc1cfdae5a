/** The report's one stylesheet (inlined): a light theme with a dark variant, shared chart palette. */
export const REPORT_CSS = `
:root {
  --bg: #f5f6f8; --panel: #ffffff; --ink: #1c2430; --muted: #5f6b7a; --faint: #8b95a3;
  --line: #e3e7ec; --grid: #edf0f3; --accent: #2563eb;
  --student: #2563eb; --student-soft: #bfd3fb; --teacher: #64748b; --teacher-soft: #d5dbe3; --random: #c4ccd6;
  --loss: #d9480f; --target: #15803d;
  --ok: #15803d; --ok-bg: #e3f6e9; --bad: #c0262d; --bad-bg: #fde7e8; --warn-bg: #fff6dc;
  --p50: #1d4ed8; --p90: #60a5fa; --p99: #1e3a8a; --max: #5f6b7a;
  --mono: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #11151b; --panel: #1a2029; --ink: #e6e9ee; --muted: #a3adba; --faint: #7d8794;
    --line: #2b3440; --grid: #232b35; --student: #60a5fa; --student-soft: #1e3a68; --teacher: #a0aec0; --teacher-soft: #3a4452;
    --random: #4b5563; --loss: #fb923c; --target: #4ade80; --ok: #4ade80; --ok-bg: #12301e; --bad: #f87171; --bad-bg: #3a1518;
    --warn-bg: #3a3012; --p50: #93c5fd; --p90: #60a5fa; --p99: #dbeafe; --max: #a3adba;
  }
}
* { box-sizing: border-box; }
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", "DejaVu Sans", sans-serif;
  font-variant-numeric: tabular-nums;
}
main { max-width: 1180px; margin: 0 auto; padding: 28px 24px 48px; }
code, .mono { font-family: var(--mono); font-size: 0.86em; }
h1 { font-size: 28px; line-height: 1.2; margin: 2px 0 6px; letter-spacing: -0.01em; }
h2 { font-size: 19px; margin: 0 0 4px; letter-spacing: -0.005em; }
h3 { font-size: 16px; margin: 22px 0 8px; }
p { margin: 6px 0; }
.eyebrow { text-transform: uppercase; letter-spacing: 0.08em; font-size: 12px; font-weight: 600; color: var(--accent); }
.meta, .lede { color: var(--muted); }
.lede { margin: 0 0 14px; max-width: 72ch; }
header.top { margin-bottom: 20px; }

.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 12px; margin: 0 0 22px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 12px; padding: 14px 16px 14px; position: relative; overflow: hidden; min-width: 0; }
.card::before { content: ""; position: absolute; inset: 0 auto 0 0; width: 4px; background: var(--line); }
.card.ok::before { background: var(--ok); } .card.bad::before { background: var(--bad); } .card.info::before { background: var(--accent); }
.card-label { font-size: 13px; color: var(--muted); font-weight: 600; }
.card-value { font-size: 30px; font-weight: 700; line-height: 1.15; margin: 4px 0 2px; letter-spacing: -0.02em; overflow-wrap: anywhere; }
.card-value small { font-size: 15px; font-weight: 600; color: var(--muted); letter-spacing: 0; }
.card.missing .card-value { color: var(--faint); font-size: 22px; }
.card-sub { font-size: 13px; color: var(--muted); overflow-wrap: anywhere; }
.card-sub + .card-sub { margin-top: 2px; }

section.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 14px; padding: 20px 22px 22px; margin: 0 0 18px; min-width: 0; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 440px), 1fr)); gap: 10px 28px; align-items: start; }
figure.chart-figure { margin: 14px 0 0; min-width: 0; }
figcaption { font-weight: 600; font-size: 14px; margin-bottom: 4px; }
.svg-wrap { width: 100%; }
.svg-wrap .compact { display: none; }
svg.chart { display: block; width: 100%; height: auto; overflow: visible; font-family: inherit; }
svg .grid { stroke: var(--grid); stroke-width: 1; }
svg .baseline { stroke: var(--faint); stroke-width: 1; }
svg .tick { font-size: 11px; fill: var(--muted); }
svg .axis-label { font-size: 12px; fill: var(--muted); }
svg .bar-label { font-size: 12px; fill: var(--ink); }
/* A halo in the panel colour keeps labels readable where they cross grid or budget lines. */
svg text { paint-order: stroke; stroke: var(--panel); stroke-width: 3px; stroke-linejoin: round; }
svg .value { font-size: 12px; font-weight: 600; fill: var(--ink); }
svg .series { fill: none; stroke-width: 2.25; stroke-linejoin: round; stroke-linecap: round; }
svg .series.agreement, svg .points.agreement { stroke: var(--student); } svg .points.agreement .point { fill: var(--panel); stroke-width: 1.75; }
svg .series.loss, svg .points.loss { stroke: var(--loss); } svg .points.loss .point { fill: var(--panel); stroke-width: 1.75; }
svg .target { stroke: var(--target); stroke-width: 1.5; stroke-dasharray: 5 4; }
svg .target-label { font-size: 11px; fill: var(--target); font-weight: 600; }
svg .bar.student { fill: var(--student); } svg .bar.teacher { fill: var(--teacher); } svg .bar.random { fill: var(--random); }
svg .whisker { stroke: var(--ink); stroke-width: 1.5; fill: none; }
svg .range { stroke: var(--faint); stroke-width: 1.5; }
svg .iqr { fill: var(--student-soft); } svg .teacher .iqr { fill: var(--teacher-soft); }
svg .mark.p50 { fill: var(--p50); } svg .mark.p90 { fill: var(--p90); } svg .mark.p99 { fill: var(--p99); }
svg .mark.max { fill: var(--panel); stroke: var(--max); stroke-width: 1.75; }
svg .limit { stroke: var(--bad); stroke-width: 1.5; stroke-dasharray: 6 4; }

.legend { list-style: none; margin: 0 0 4px; padding: 0; display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 12px; color: var(--muted); }
.legend li { display: inline-flex; align-items: center; gap: 6px; }
.key { display: inline-block; width: 12px; height: 12px; border-radius: 3px; background: var(--faint); }
.key.line { height: 3px; width: 18px; border-radius: 2px; }
.key.dot { border-radius: 50%; } .key.ring { border-radius: 50%; background: transparent; border: 2px solid var(--max); }
.key.diamond { transform: rotate(45deg) scale(0.8); border-radius: 1px; }
.key.agreement { background: var(--student); } .key.loss { background: var(--loss); }
.key.target { background: repeating-linear-gradient(90deg, var(--target) 0 5px, transparent 5px 8px); }
.key.limit { background: repeating-linear-gradient(90deg, var(--bad) 0 6px, transparent 6px 9px); }
.key.p50 { background: var(--p50); } .key.p90 { background: var(--p90); } .key.p99 { background: var(--p99); } .key.iqr { background: var(--student-soft); }

details { margin-top: 6px; }
summary { cursor: pointer; color: var(--accent); font-size: 13px; width: max-content; max-width: 100%; }
summary:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; border-radius: 3px; }
.table-wrap { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; width: 100%; font-size: 13px; margin-top: 8px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; white-space: nowrap; }
td.wrap { white-space: normal; min-width: 24ch; }
table.compress th, table.compress td { padding: 6px 8px; }
td .sub { font-size: 12px; color: var(--muted); }
td .reason { font-size: 12px; color: var(--bad); max-width: 46ch; }
ul.notes { margin: 10px 0 0; padding-left: 18px; color: var(--muted); font-size: 13px; }
th { font-weight: 600; color: var(--muted); font-size: 12px; background: color-mix(in srgb, var(--bg) 60%, var(--panel)); }
td.num, th.num { text-align: right; }
tbody tr:hover td { background: color-mix(in srgb, var(--accent) 5%, transparent); }

.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 8px 18px; margin: 10px 0 4px; padding: 0; }
.facts div { min-width: 0; }
.facts dt { font-size: 12px; color: var(--muted); }
.facts dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }

.pill { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12px; font-weight: 700; letter-spacing: 0.02em; }
.pill.ok { color: var(--ok); background: var(--ok-bg); } .pill.bad { color: var(--bad); background: var(--bad-bg); }
.pill.none { color: var(--muted); background: var(--grid); }
.role { display: inline-block; padding: 0 7px; border-radius: 6px; font-size: 11px; font-weight: 600; }
.role.student { background: var(--student-soft); color: var(--ink); } .role.teacher { background: var(--teacher-soft); color: var(--ink); }

table.budget-matrix th, table.budget-matrix td { white-space: nowrap; }
table.budget-matrix tbody th { color: var(--ink); background: transparent; font-size: 13px; }
.b-limit { font-weight: 400; color: var(--muted); font-size: 12px; }
td.budget-cell { font-weight: 600; }
td.budget-cell.ok { background: var(--ok-bg); } td.budget-cell.bad { background: var(--bad-bg); }
td.budget-cell.ok .b-mark { color: var(--ok); } td.budget-cell.bad .b-mark, td.budget-cell.bad { color: var(--bad); }
tbody tr:hover td.budget-cell.ok { background: var(--ok-bg); } tbody tr:hover td.budget-cell.bad { background: var(--bad-bg); }
.b-note { font-size: 12px; color: var(--muted); font-weight: 400; white-space: normal; }
.budget-pills { list-style: none; padding: 0; margin: 10px 0 0; display: flex; flex-wrap: wrap; gap: 8px; }
.budget-pill { border-radius: 8px; padding: 5px 12px; font-size: 13px; font-weight: 600; }
.budget-pill.ok { background: var(--ok-bg); } .budget-pill.ok .b-mark { color: var(--ok); }
.budget-pill.bad { background: var(--bad-bg); color: var(--bad); }
h3 .meta { font-weight: 400; font-size: 13px; margin-left: 6px; }

.device { border-top: 1px solid var(--line); margin-top: 18px; padding-top: 14px; }
.device:first-of-type { border-top: 0; margin-top: 6px; padding-top: 0; }
.device-head { display: flex; flex-wrap: wrap; gap: 6px 12px; align-items: baseline; }
.device-head h3 { margin: 0; }
.missing-note { color: var(--muted); background: var(--warn-bg); border-radius: 10px; padding: 10px 14px; margin: 10px 0 0; }
footer { color: var(--faint); font-size: 12px; margin-top: 24px; overflow-wrap: anywhere; }
footer ul { margin: 4px 0; padding-left: 18px; }

@media (max-width: 640px) {
  main { padding: 18px 12px 36px; }
  h1 { font-size: 23px; }
  section.panel { padding: 16px 14px; border-radius: 12px; }
  .cards { grid-template-columns: 1fr 1fr; gap: 8px; }
  .card { padding: 10px 12px; }
  .card-value { font-size: 22px; }
  .facts { grid-template-columns: 1fr 1fr; }
}
@media (max-width: 720px) {
  .svg-wrap .wide { display: none; }
  .svg-wrap .compact { display: block; }
}
@media print { body { background: #fff; } section.panel, .card { break-inside: avoid; } }
`;
