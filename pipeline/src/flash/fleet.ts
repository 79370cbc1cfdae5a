/**
 * Many targets at once: flash (or check) each with a concurrency limit; one failing device never
 * stops the others. Results come back in target order.
 */
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { readBundleArchive, type BundleArchive } from '../bundle/read.js';
import { flashDir } from './flash-dir.js';
import { flashSsh, type FlashOptions, type FlashPhase } from './flash-ssh.js';
import { checkRemote, type CheckOptions } from './remote-check.js';
import type { FlashResult, RemoteCheckResult } from './result.js';
import { parseTarget, type Target } from './target.js';

/** Runs `work` over `items` with at most `limit` at a time; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i], i);
    }
  });
  await Promise.all(lanes);
  return out;
}

export function parseTargets(raw: readonly string[]): Target[] {
  if (raw.length === 0) throw new EdgeDistillError('BAD_ARGUMENT', 'no --target given', { field: '--target', suggestion: 'e.g. --target ssh://pi@robot1.local/home/pi/edgedistill' });
  const targets = raw.map(parseTarget);
  const seen = new Set<string>();
  for (const t of targets) {
    const key = `${t.label}|${t.kind === 'ssh' ? (t.path ?? '') : ''}`;
    if (seen.has(key)) throw new EdgeDistillError('BAD_ARGUMENT', `target given twice: ${t.raw}`, { field: '--target' });
    seen.add(key);
  }
  return targets;
}

export interface FleetOptions extends Omit<FlashOptions, 'onProgress'> {
  readonly concurrency?: number;
  readonly onProgress?: (target: Target, phase: FlashPhase, detail: string) => void;
}

/** Flashes `bundle` (path or read archive) to every target. */
export async function flashFleet(bundle: string | BundleArchive, rawTargets: readonly string[], o: FleetOptions = {}): Promise<{ bundle: BundleArchive; results: FlashResult[] }> {
  const targets = parseTargets(rawTargets);
  const archive = typeof bundle === 'string' ? readBundleArchive(bundle) : bundle;
  const results = await mapLimit(targets, o.concurrency ?? 4, (t) => {
    const opts: FlashOptions = { ...o, onProgress: (p, d) => o.onProgress?.(t, p, d) };
    return t.kind === 'ssh' ? flashSsh(archive, t, opts) : flashDir(archive, t, opts);
  });
  return { bundle: archive, results };
}

export interface CheckFleetOptions extends Omit<CheckOptions, 'onProgress'> {
  readonly concurrency?: number;
  readonly onProgress?: (target: Target, detail: string) => void;
}

/** Runs the on-device check of the current release on every target. */
export async function checkFleet(rawTargets: readonly string[], o: CheckFleetOptions = {}): Promise<RemoteCheckResult[]> {
  const targets = parseTargets(rawTargets);
  return mapLimit(targets, o.concurrency ?? 4, (t) => checkRemote(t, { ...o, onProgress: (d) => o.onProgress?.(t, d) }));
}
