/**
 * A device profile (devices/<id>.json, schema devices/schema.json): what the device is, which
 * policy backends run there in order of preference, the budgets the on-device check enforces and
 * where flash installs. Bundles embed the whole profile, so the device needs nothing else.
 */
import type { BackendId, Budgets } from '../../../runtime/src/bundle/manifest.js';

export type DeviceArch = 'arm64' | 'armv7' | 'x64';

export interface DeviceSource {
  readonly url: string;
  /** Profile fields this document supports. */
  readonly facts: readonly string[];
  readonly note?: string;
}

export interface DeployDefaults {
  /** Absolute deploy directory on the device: releases/<id>/, current -> releases/<id>. */
  readonly path: string;
  readonly user: string;
  /** Releases kept on the device; current and previous are never deleted. */
  readonly keepReleases: number;
  readonly checkEpisodes: number;
  /** Absolute path of node on the device. */
  readonly nodePath: string;
}

export interface DeviceProfile {
  readonly id: string;
  readonly name: string;
  readonly arch: DeviceArch;
  readonly os: { readonly name: string; readonly version: string };
  readonly libc: { readonly name: 'glibc' | 'musl'; readonly version: string };
  /** Node versions the bundle runs on there (semver range). */
  readonly nodeRange: string;
  readonly cores: number;
  readonly ramMiB: number;
  readonly cpu: string;
  /** In order of preference: each artifact runs on the first that fits it. */
  readonly backends: readonly BackendId[];
  readonly budgets: Budgets;
  readonly deploy: DeployDefaults;
  readonly sources: readonly DeviceSource[];
  readonly notes?: readonly string[];
}

/** `process.arch` of Node on a device of this arch. */
export function nodeArchOf(arch: DeviceArch): 'arm64' | 'arm' | 'x64' {
  return arch === 'armv7' ? 'arm' : arch;
}

/** What `uname -m` says on a device of this arch (armv7: armv7l). */
export function unameOf(arch: DeviceArch): string {
  return arch === 'arm64' ? 'aarch64' : arch === 'armv7' ? 'armv7l' : 'x86_64';
}
