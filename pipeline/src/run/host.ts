/**
 * Which device profile this machine is: the profiles whose arch is this Node's `process.arch`
 * (on Linux); when several share it (arm64 boards), the one whose name the device tree's model
 * string names ("Raspberry Pi 4 Model B Rev 1.4" -> rpi4-arm64). Null when none fits.
 */
import { readFileSync } from 'node:fs';
import { loadAllProfiles, nodeArchOf, type DeviceProfile } from '../devices/index.js';

export interface HostMatch {
  readonly id: string;
  /** How it was chosen, for the summary. */
  readonly reason: string;
}

/** The board's model string from the device tree (ARM boards), or null. */
export function deviceTreeModel(): string | null {
  for (const f of ['/proc/device-tree/model', '/sys/firmware/devicetree/base/model']) {
    try {
      return readFileSync(f, 'utf8').replace(/\0/g, '').trim() || null;
    } catch {
      /* not a device-tree machine */
    }
  }
  return null;
}

const words = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim();

/** Pure: the profile matching a platform, arch and board model among `profiles`. */
export function matchHostProfile(profiles: readonly DeviceProfile[], platform: string, arch: string, model: string | null): HostMatch | null {
  if (platform !== 'linux') return null;
  const sameArch = profiles.filter((p) => nodeArchOf(p.arch) === arch);
  if (sameArch.length === 0) return null;
  if (model) {
    const m = words(model);
    // The profile name up to its first comma is the board ("Raspberry Pi 4 Model B").
    const named = sameArch.filter((p) => m.includes(words(p.name.split(',')[0])) || words(p.name.split(',')[0]).includes(m));
    if (named.length >= 1) return { id: named[0].id, reason: `${platform} ${arch}, board "${model}"` };
  }
  if (sameArch.length === 1) return { id: sameArch[0].id, reason: `the only ${arch} profile` };
  return null;
}

/** The profile of the machine this runs on, or null. */
export function hostProfile(profiles: readonly DeviceProfile[] = loadAllProfiles()): HostMatch | null {
  return matchHostProfile(profiles, process.platform, process.arch, process.arch === 'x64' ? null : deviceTreeModel());
}
