/**
 * Atomic file writes: a reader (or a crash) never sees a half-written artifact. The data goes to a
 * temp file in the same directory (rename is only atomic within one file system), is fsynced, then
 * renamed over the target; the directory is fsynced so the rename itself survives a power cut.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open, mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { EdgeDistillError } from '../errors.js';

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

function toBytes(data: string | Uint8Array): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

function ioError(path: string, e: unknown): EdgeDistillError {
  const msg = e instanceof Error ? e.message : String(e);
  return new EdgeDistillError('IO', `cannot write file: ${msg}`, { file: path, cause: e });
}

/** Best effort: some file systems refuse fsync on a directory; the data itself is already synced. */
function fsyncDirSync(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* ignore */
  }
}

/** Writes `data` to `path` atomically (temp file, fsync, rename). Creates the parent directory. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const bytes = toBytes(data);
  const tmp = tempPathFor(path);
  try {
    await mkdir(dirname(path), { recursive: true });
    const fh = await open(tmp, 'w', 0o644);
    try {
      let off = 0;
      while (off < bytes.length) {
        const { bytesWritten } = await fh.write(bytes, off, bytes.length - off);
        off += bytesWritten;
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw ioError(path, e);
  }
  fsyncDirSync(dirname(path));
}

/** Synchronous twin of {@link writeFileAtomic}, for code paths that cannot await. */
export function writeFileAtomicSync(path: string, data: string | Uint8Array): void {
  const bytes = toBytes(data);
  const tmp = tempPathFor(path);
  try {
    mkdirSync(dirname(path), { recursive: true });
    const fd = openSync(tmp, 'w', 0o644);
    try {
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw ioError(path, e);
  }
  fsyncDirSync(dirname(path));
}
