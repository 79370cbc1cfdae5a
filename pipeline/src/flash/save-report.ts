/** Saving a device's check report on this machine: OUT/<target label>/check-report.json, atomically. */
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';

/** Directory name for a target label (user@host:port -> user@host_port). */
export function labelDir(label: string): string {
  return label.replace(/[^A-Za-z0-9._@-]+/g, '_').replace(/^_+|_+$/g, '') || 'device';
}

export async function saveReport(outDir: string, label: string, report: Record<string, unknown>): Promise<string> {
  const file = join(resolve(outDir), labelDir(label), 'check-report.json');
  await writeFileAtomic(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}
