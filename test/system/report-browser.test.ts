// The HTML report in a real browser: Debian's chromium (apt: chromium) driven by playwright-core.
// Builds a report from a realistic run directory (two devices), opens it from file://, checks that
// every chart rendered with the expected number of marks, that nothing overflows at 1280 px and
// 400 px, that there are no console errors and no requests beyond the file itself, and saves
// full-page screenshots to test-artifacts/ (gitignored) for a person to look at.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReport } from '../../pipeline/src/report/index.js';
import { ARTIFACTS, CURVE_POINTS, DEVICES, checkReport, writeRunDir } from '../report/fixtures.js';

const repo = resolve(import.meta.dirname, '../..');
const artifactsDir = join(repo, 'test-artifacts');
const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// Minimal DOM types for the callbacks that run in the page (the project's tsconfig has no "dom" lib);
// they reach the page's globals through globalThis, which survives serialization.
interface Box { left: number; right: number; top: number; bottom: number; width: number }
interface El { tagName: string; textContent: string | null; getAttribute(n: string): string | null; getBoundingClientRect(): Box; querySelectorAll(s: string): ArrayLike<El> }
interface PageGlobals {
  document: { querySelectorAll(s: string): ArrayLike<El>; querySelector(s: string): El | null; getElementById(id: string): El | null; documentElement: { scrollWidth: number } };
  getComputedStyle(e: El): { backgroundColor: string };
}

/** Charts a full report has, with the marks each must hold. */
const LATENCY_ROWS = 5;
const CHARTS: { id: string; selector: string; count: number }[] = [
  { id: 'curve-agreement', selector: '.point', count: CURVE_POINTS },
  { id: 'curve-loss', selector: '.point', count: CURVE_POINTS },
  { id: 'returns', selector: 'rect.bar', count: 3 },
  { id: 'sizes', selector: 'rect.bar', count: ARTIFACTS.length + 1 }, // + the teacher's file
  { id: 'latency-rpi4-arm64-rpi4-lab', selector: '.point', count: LATENCY_ROWS * 4 },
  { id: 'latency-jetson-orin-nano-orin-01', selector: '.point', count: LATENCY_ROWS * 4 },
];
/** Row charts are drawn twice; the compact variant (id + "-c") is the one shown on narrow screens. */
const ROW_CHARTS = new Set(['sizes', 'latency-rpi4-arm64-rpi4-lab', 'latency-jetson-orin-nano-orin-01']);

let work: string;
let context: BrowserContext;
let reportUrl: string;
const requests: string[] = [];
const failed: string[] = [];
const consoleErrors: string[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ed-report-browser-'));
  const run = join(work, 'run');
  writeRunDir(run);
  const orin = join(work, 'orin-check-report.json');
  writeFileSync(orin, JSON.stringify(checkReport(DEVICES[1])));
  const r = await writeReport(run, [orin]);
  reportUrl = pathToFileURL(r.html).href;
  context = await chromium.launchPersistentContext(join(work, 'profile'), { executablePath: CHROMIUM, headless: true, args: ARGS });
  context.on('request', (q) => requests.push(q.url()));
  context.on('requestfailed', (q) => failed.push(`${q.url()}: ${q.failure()?.errorText}`));
  context.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(`${m.type()}: ${m.text()}`);
  });
  context.on('weberror', (e) => consoleErrors.push(`pageerror: ${e.error().message}`));
});

afterAll(async () => {
  await context?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function open(width: number): Promise<Page> {
  const page = await context.newPage();
  await page.setViewportSize({ width, height: 900 });
  await page.goto(reportUrl, { waitUntil: 'load' });
  return page;
}

/** Visible SVG text and marks that stick out of their SVG, and the page's horizontal overflow. */
async function overflow(page: Page) {
  return page.evaluate(() => {
    const { document } = globalThis as unknown as PageGlobals;
    const out: string[] = [];
    for (const svg of Array.from(document.querySelectorAll('svg.chart'))) {
      const box = svg.getBoundingClientRect();
      if (box.width === 0) continue; // the hidden variant
      for (const el of Array.from(svg.querySelectorAll('text, rect, circle, path, line'))) {
        const b = el.getBoundingClientRect();
        if (b.left < box.left - 1 || b.right > box.right + 1 || b.top < box.top - 1 || b.bottom > box.bottom + 1) {
          out.push(`${svg.getAttribute('data-chart')}: <${el.tagName} class="${el.getAttribute('class')}">${el.textContent ?? ''}`);
        }
      }
    }
    return { outside: out, scrollWidth: document.documentElement.scrollWidth };
  });
}

async function checkCharts(page: Page, compact: boolean): Promise<void> {
  for (const c of CHARTS) {
    const id = compact && ROW_CHARTS.has(c.id) ? `${c.id}-c` : c.id;
    const svg = page.locator(`svg[data-chart="${id}"]`);
    await expect(svg.count()).resolves.toBe(1);
    expect(await svg.isVisible(), id).toBe(true);
    const box = await svg.boundingBox();
    expect(box!.width, id).toBeGreaterThan(200);
    expect(box!.height, id).toBeGreaterThan(80);
    const marks = svg.locator(c.selector);
    expect(await marks.count(), `${id} ${c.selector}`).toBe(c.count);
    // Every mark was laid out with a size (a bar of zero width or a point at NaN would not be).
    const sizes = await marks.evaluateAll((els) => els.map((e) => (e as unknown as { getBBox(): { width: number; height: number; x: number; y: number } }).getBBox()).map((b) => [b.width, b.height, b.x, b.y]));
    for (const [w, h, x, y] of sizes) {
      expect(w > 0 && h > 0 && Number.isFinite(x) && Number.isFinite(y), `${id}: ${[w, h, x, y]}`).toBe(true);
    }
    // Named for assistive technology: role img, labelled by its own <title> and <desc>.
    const label = await svg.evaluate((e) => (e.getAttribute('aria-labelledby') ?? '').split(' ').map((i: string) => (globalThis as unknown as PageGlobals).document.getElementById(i)?.textContent ?? ''));
    expect(await svg.getAttribute('role')).toBe('img');
    expect(label[0].length, id).toBeGreaterThan(5);
    expect(label[1].length, id).toBeGreaterThan(20);
    if (ROW_CHARTS.has(c.id)) {
      const other = page.locator(`svg[data-chart="${compact ? c.id : `${c.id}-c`}"]`);
      expect(await other.isVisible(), `${id}: only one variant shows`).toBe(false);
    }
  }
  // The loss spans two orders of magnitude: its axis is logarithmic, labelled so.
  await expect(page.locator('svg[data-chart="curve-loss"] .axis-label').allTextContents()).resolves.toContain('loss (log scale)');
}

describe('report.html in Chromium', () => {
  it('at 1280 px: every chart drawn with its marks, tables behind Numbers, nothing overflows', async () => {
    const page = await open(1280);
    await checkCharts(page, false);

    // The numbers under a chart: closed at first, a table with one row per point once opened.
    const details = page.locator('#curve-agreement details');
    expect(await details.locator('table').isVisible()).toBe(false);
    await details.locator('summary').click();
    expect(await details.locator('table').isVisible()).toBe(true);
    expect(await details.locator('tbody tr').count()).toBe(CURVE_POINTS);

    // Budgets: green and red cells with the measured values; 2 of 26 fail (Jetson's 10 us period).
    const bad = page.locator('td.budget-cell.bad');
    expect(await bad.count()).toBe(2);
    const colours = await page.evaluate(() => {
      const g = globalThis as unknown as PageGlobals;
      return ['ok', 'bad'].map((k) => g.getComputedStyle(g.document.querySelector(`td.budget-cell.${k}`)!).backgroundColor);
    });
    expect(colours[0]).not.toBe(colours[1]);
    expect(await page.locator('.card').count()).toBe(5);
    expect(await page.locator('.card.missing').count()).toBe(0);

    const o = await overflow(page);
    expect(o.outside).toEqual([]);
    expect(o.scrollWidth).toBeLessThanOrEqual(1280);
    // At full width no table hides columns behind a horizontal scroll (on a phone they may scroll).
    const clipped = await page.evaluate(() => {
      const { document } = globalThis as unknown as PageGlobals;
      return Array.from(document.querySelectorAll('.table-wrap'))
        .map((w) => w as unknown as { scrollWidth: number; clientWidth: number; textContent: string | null })
        .filter((w) => w.clientWidth > 0 && w.scrollWidth > w.clientWidth + 1)
        .map((w) => (w.textContent ?? '').slice(0, 60));
    });
    expect(clipped).toEqual([]);

    mkdirSync(artifactsDir, { recursive: true });
    await page.screenshot({ path: join(artifactsDir, 'report.png'), fullPage: true });
    await page.close();
  });

  it('at 400 px: compact charts, nothing wider than the screen', async () => {
    const page = await open(400);
    await checkCharts(page, true);
    const o = await overflow(page);
    expect(o.outside).toEqual([]);
    expect(o.scrollWidth).toBeLessThanOrEqual(400);
    await page.screenshot({ path: join(artifactsDir, 'report-400.png'), fullPage: true });
    await page.close();
  });

  it('made no request beyond the file itself, and logged no errors', () => {
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.filter((u) => u !== reportUrl)).toEqual([]);
    expect(failed).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});
