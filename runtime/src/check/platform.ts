/** Facts about the machine the check runs on, for the report (read once, nothing measured). */
import { readFileSync } from 'node:fs';
// A namespace import: os.availableParallelism only exists from Node 18.14.
import * as os from 'node:os';

export interface PlatformFacts {
  /** `process.platform` / `process.arch` (arm64, arm, x64, ...). */
  readonly os: string;
  readonly arch: string;
  readonly nodeVersion: string;
  /** CPU model as the OS names it (`/proc/cpuinfo` on ARM boards where Node gives none). */
  readonly cpuModel: string;
  readonly cores: number;
  readonly hostname: string;
  /** Kernel release (`uname -r`). */
  readonly osRelease: string;
  /** Board name from the device tree (`Raspberry Pi 4 Model B Rev 1.5`, Jetson ...), or null. */
  readonly board: string | null;
  readonly totalMemMiB: number;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** The CPU model: Node's, else /proc/cpuinfo's `model name`, `Hardware` or ARM `CPU part` line. */
function cpuModel(): string {
  const fromNode = os.cpus()[0]?.model?.trim();
  if (fromNode && fromNode !== 'unknown') return fromNode;
  const info = readText('/proc/cpuinfo') ?? '';
  for (const key of ['model name', 'Model', 'Hardware', 'CPU part']) {
    const m = new RegExp(`^${key}\\s*:\\s*(.+)$`, 'm').exec(info);
    if (m) return key === 'CPU part' ? `ARM CPU part ${m[1].trim()}` : m[1].trim();
  }
  return 'unknown';
}

export function platformFacts(): PlatformFacts {
  const board = readText('/proc/device-tree/model')?.replace(/\0/g, '').trim() || null;
  return {
    os: process.platform,
    arch: process.arch,
    nodeVersion: process.version,
    cpuModel: cpuModel(),
    cores: typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length,
    hostname: os.hostname(),
    osRelease: os.release(),
    board,
    totalMemMiB: Math.round(os.totalmem() / 1048576),
  };
}

/** Peak resident set size of this process so far, MiB (`process.resourceUsage().maxRSS` is KiB). */
export function peakRssMiB(): number {
  return Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
}
