/**
 * Fleet runs without devices: a host that is down (a closed port on loopback, real ssh) is retried
 * with back-off and logged, a canary that fails stops the rest, a host whose profile has no bundle
 * is skipped; failure classes and back-off are pure functions.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBundleArchive, writeTarGz, type BundleArchive } from '../../pipeline/src/bundle/index.js';
import { parseInventory } from '../../pipeline/src/fleet/inventory.js';
import { backoffMs, classifyFailure, flashInventory, formatFleetTable, retryable } from '../../pipeline/src/fleet/run.js';

const work = mkdtempSync(join(tmpdir(), 'fleet-run-'));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function tinyBundle(device: string): BundleArchive {
  const files = { 'runtime/edgedistill-device.mjs': Buffer.from('// runtime\n') };
  const manifest = {
    format: 'edgedistill.bundle/1',
    device,
    profile: { id: device, arch: 'arm64', deploy: { keepReleases: 2, path: '/home/pi/edgedistill' } },
    files: Object.fromEntries(Object.entries(files).map(([p, b]) => [p, { sha256: sha(b), bytes: b.length }])),
  };
  const path = join(work, `${device}.tar.gz`);
  writeFileSync(path, writeTarGz([{ path: 'manifest.json', type: 'file', data: Buffer.from(JSON.stringify(manifest)) }, ...Object.entries(files).map(([p, data]) => ({ path: p, type: 'file' as const, data }))], 0));
  return readBundleArchive(path);
}

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('fleet runs', () => {
  it('retries a host that is down with back-off, logs every ssh command, and reports it', async () => {
    const port = await closedPort();
    const inv = parseInventory(`[pis]\ndown1 ansible_host=127.0.0.1 ansible_port=${port} ansible_user=pi\n[pis:vars]\nedgedistill_device=rpi4-arm64\n`, join(work, 'down.ini'));
    const bundles = new Map([['rpi4-arm64', tinyBundle('rpi4-arm64')]]);
    const retries: string[] = [];
    const t0 = Date.now();
    const out = await flashInventory(inv.hosts, bundles, {
      retries: 3,
      retryBaseMs: 200,
      logDir: join(work, 'logs'),
      connectTimeout: 5,
      onProgress: (h, phase, d) => phase === 'retry' && retries.push(`${h}: ${d}`),
    });
    const r = out.results[0];
    expect(r.ok).toBe(false);
    expect(r.attempts).toBe(3);
    expect(r.error).toMatch(/Connection refused/);
    expect(retries).toHaveLength(2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(0.8 * (200 + 400)); // two back-offs: 200 ms, 400 ms (+-20%)
    const log = readFileSync(r.log as string, 'utf8');
    expect(log.match(/\$ ssh .*<PREPARE script/g)).toHaveLength(3);
    expect(log).toMatch(/exit 255/);
    expect(log).toMatch(/retrying in/);
    expect(formatFleetTable(out.results)).toMatch(/down1 +rpi4-arm64 +FAILED .* 3 /);
  });

  it('stops after a failed canary and skips a host whose profile has no bundle', async () => {
    const port = await closedPort();
    const inv = parseInventory(
      `[pis]\ncanary ansible_host=127.0.0.1 ansible_port=${port}\nsecond ansible_host=127.0.0.1 ansible_port=${port}\nzero ansible_host=127.0.0.1 ansible_port=${port} edgedistill_device=rpi-zero2w-armv7\n[pis:vars]\nedgedistill_device=rpi4-arm64\n`,
      join(work, 'canary.ini'),
    );
    const bundles = new Map([['rpi4-arm64', tinyBundle('rpi4-arm64')]]);
    const out = await flashInventory(inv.hosts, bundles, { retries: 1, canary: 1, connectTimeout: 5 });
    expect(out.canary).toEqual({ hosts: ['canary'], passed: false });
    expect(out.results.map((r) => [r.host, r.ok, r.skipped !== null])).toEqual([
      ['canary', false, false],
      ['second', false, true],
      ['zero', false, true],
    ]);
    expect(out.results[1].error).toBe('skipped: canary failed on canary');
    const noCanary = await flashInventory([inv.hosts[2]], bundles, { retries: 1 });
    expect(noCanary.results[0].error).toMatch(/no bundle for device profile rpi-zero2w-armv7/);
  });

  it('classifies ssh failures: host keys never retried, connection trouble retried', () => {
    expect(classifyFailure('cannot prepare pi1: Host key for [127.0.0.1]:2201 has changed / Host key verification failed.')).toBe('hostkey');
    expect(classifyFailure('@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@')).toBe('hostkey');
    expect(classifyFailure('No ED25519 host key is known for pi1 and you have requested strict checking.')).toBe('hostkey');
    expect(classifyFailure('ssh: connect to host 10.0.0.9 port 22: Connection refused')).toBe('transient');
    expect(classifyFailure('ssh: connect to host 10.0.0.9 port 22: Connection timed out')).toBe('transient');
    expect(classifyFailure('kex_exchange_identification: read: Connection reset by peer')).toBe('transient');
    expect(classifyFailure('cannot prepare pi1: exit 255')).toBe('transient');
    expect(classifyFailure('pi1@host: Permission denied (publickey).')).toBe('permanent');
    expect(classifyFailure("'sha256sum' is not installed on the device")).toBe('permanent');
  });

  it('retries only failures before the release was touched', () => {
    const base = { ok: false, switched: false, rolledBack: false, check: { ran: false }, error: 'cannot prepare pi: Connection refused' } as never;
    expect(retryable(base)).toBe(true);
    expect(retryable({ ...(base as object), switched: true } as never)).toBe(false);
    expect(retryable({ ...(base as object), error: 'activation on pi did not report back: Connection reset' } as never)).toBe(false);
    expect(retryable({ ...(base as object), error: 'refused: the device is being flashed by x' } as never)).toBe(false);
    expect(retryable({ ...(base as object), error: 'Host key verification failed.' } as never)).toBe(false);
  });

  it('backs off exponentially with a cap and bounded jitter', () => {
    expect([1, 2, 3, 4].map((n) => backoffMs(n, 1000, 60_000, () => 0.5))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffMs(10, 1000, 5000, () => 0.5)).toBe(5000);
    expect(backoffMs(1, 1000, 60_000, () => 0)).toBe(800);
    expect(backoffMs(1, 1000, 60_000, () => 1)).toBe(1200);
  });
});
