/**
 * A defensive, in-memory reader (and extractor) of .tar / .tar.gz archives that come from outside:
 * bundles handed to `flash`, anything a user downloads. Everything is checked before a single byte
 * is written, and each refusal is an EdgeDistillError('BAD_CONFIG') naming the archive (`file`)
 * and the entry (`field`):
 * - paths: absolute (`/x`, `C:x`), backslashes, NUL, `..` segments, or below a symlink or a file;
 * - symlinks whose target leaves the archive root (absolute, or `..` past the root), hardlinks to
 *   anything but an earlier regular file of the same archive;
 * - device files, FIFOs and entry types we do not know (GNU sparse, volume labels, ...);
 * - duplicate entries (the same path twice: which one "wins" differs between extractors, so a
 *   checksum verified on one copy could be bypassed by the other);
 * - zip bombs: more than `maxBytes` once decompressed (decompression stops there), more than
 *   `maxEntries` entries, and truncated or corrupted headers (checksum).
 * Understands ustar, GNU long names (`L`/`K`) and pax extended headers (`x`: path, linkpath, size);
 * global pax headers (`g`) are ignored. Streaming is not needed: bundles are tens of MiB.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, symlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { posix } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { EdgeDistillError } from '@edgedistill/runtime/errors';

export interface SafeTarEntry {
  /** Normalized relative path: forward slashes, no `.`/`..`/empty segments, no trailing slash. */
  readonly path: string;
  readonly type: 'file' | 'dir' | 'symlink';
  /** Permission bits only (setuid, setgid and sticky are dropped). */
  readonly mode: number;
  readonly mtime: number;
  /** File contents (hardlinks are resolved to a copy of their target's data); empty otherwise. */
  readonly data: Buffer;
  /** Symlinks: the target as written in the archive (checked to stay inside the root). */
  readonly linkTarget?: string;
}

export interface SafeTarOptions {
  /** Largest total size once decompressed (tar bytes), default 512 MiB. */
  readonly maxBytes?: number;
  /** Most entries, default 100 000. */
  readonly maxEntries?: number;
  /** Accept symlinks that stay inside the root (default true); false refuses every symlink. */
  readonly allowSymlinks?: boolean;
}

export const SAFE_TAR_DEFAULTS = { maxBytes: 512 * 1024 * 1024, maxEntries: 100_000 } as const;

const BLOCK = 512;

function refuse(file: string | undefined, entry: string | undefined, text: string, suggestion?: string): never {
  throw new EdgeDistillError('BAD_CONFIG', entry === undefined ? text : `archive entry '${entry}': ${text}`, {
    file,
    field: entry,
    suggestion: suggestion ?? 'the archive is damaged or was made to escape its directory; do not unpack it, rebuild it with `edgedistill bundle`',
  });
}

/** NUL-terminated (or field-long) string of a header field. */
function field(h: Buffer, off: number, len: number): string {
  const end = h.indexOf(0, off);
  return h.toString('utf8', off, end === -1 || end > off + len ? off + len : end);
}

/** Octal number field, or GNU base-256 (first byte has the high bit); NaN when malformed. */
function number(h: Buffer, off: number, len: number): number {
  if (h[off] & 0x80) {
    if (h[off] & 0x40) return NaN; // negative base-256
    let v = h[off] & 0x3f;
    for (let i = 1; i < len; i++) v = v * 256 + h[off + i];
    return v;
  }
  const s = field(h, off, len).trim();
  if (s === '') return 0;
  return /^[0-7]+$/.test(s) ? parseInt(s, 8) : NaN;
}

/** Header checksum: the sum of all bytes with the checksum field read as spaces (unsigned or signed). */
function checksumOk(h: Buffer): boolean {
  const want = number(h, 148, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i];
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return want === unsigned || want === signed;
}

/**
 * The normalized form of an entry path, or the reason it is refused. A leading `./` (tar -C dir .)
 * is allowed; the root itself (`.`, `./`) gives ''.
 */
export function entryPathProblem(raw: string): { path: string } | { problem: string } {
  if (raw.includes('\0')) return { problem: 'path contains a NUL byte' };
  if (raw.includes('\\')) return { problem: 'path contains a backslash (a Windows path?)' };
  if (raw.startsWith('/')) return { problem: 'absolute path' };
  if (/^[A-Za-z]:/.test(raw)) return { problem: 'path starts with a drive letter' };
  let p = raw;
  while (p.startsWith('./')) p = p.slice(2);
  if (p === '.' || p === '') return { path: '' };
  if (p.endsWith('/')) p = p.slice(0, -1);
  const parts = p.split('/');
  if (parts.includes('..')) return { problem: "path has a '..' segment (would escape the directory)" };
  if (parts.some((s) => s === '' || s === '.')) return { problem: "path has an empty or '.' segment" };
  return { path: p };
}

interface Raw {
  name: string;
  linkname: string;
  flag: string;
  mode: number;
  mtime: number;
  data: Buffer;
  offset: number;
}

/** Splits a tar into raw records, applying GNU long names and pax overrides; checks sizes and checksums. */
function records(tar: Buffer, file: string | undefined, maxEntries: number): Raw[] {
  const out: Raw[] = [];
  let off = 0;
  let longName: string | null = null;
  let longLink: string | null = null;
  let pax: Record<string, string> | null = null;
  let headers = 0;
  while (off + BLOCK <= tar.length) {
    const h = tar.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) return out; // end of archive (one zero block is enough for us)
    if (++headers > maxEntries * 2 + 8) refuse(file, undefined, `more than ${maxEntries} entries`);
    const rawName = field(h, 0, 100);
    if (!checksumOk(h)) refuse(file, rawName || undefined, `header checksum mismatch at byte ${off} (corrupted or not a tar archive)`);
    let size = number(h, 124, 12);
    const flag = String.fromCharCode(h[156] || 0x30);
    if (pax?.size !== undefined && (flag === '0' || flag === '7')) {
      const s = Number(pax.size);
      if (!Number.isSafeInteger(s) || s < 0) refuse(file, rawName, `pax size '${pax.size}' is not a byte count`);
      size = s;
    }
    if (!Number.isSafeInteger(size) || size < 0) refuse(file, rawName, `size field is malformed at byte ${off}`);
    const dataStart = off + BLOCK;
    if (size > tar.length - dataStart) refuse(file, rawName, `declares ${size} bytes but the archive ends ${tar.length - dataStart} bytes later (truncated)`);
    const data = tar.subarray(dataStart, dataStart + size);
    off = dataStart + Math.ceil(size / BLOCK) * BLOCK;

    if (flag === 'L' || flag === 'K') {
      const v = data.toString('utf8').replace(/\0+$/, '');
      if (flag === 'L') longName = v;
      else longLink = v;
      continue;
    }
    if (flag === 'x' || flag === 'g') {
      const kv = parsePax(data, file, rawName);
      if (flag === 'x') pax = kv; // global headers ('g', e.g. git archive's comment) are ignored
      continue;
    }
    const prefix = h.subarray(257, 263).toString('latin1') === 'ustar\0' ? field(h, 345, 155) : '';
    const name = pax?.path ?? longName ?? (prefix ? `${prefix}/${rawName}` : rawName);
    const linkname = pax?.linkpath ?? longLink ?? field(h, 157, 100);
    longName = longLink = pax = null;
    out.push({ name, linkname, flag, mode: number(h, 100, 8), mtime: number(h, 136, 12), data, offset: off });
    if (out.length > maxEntries) refuse(file, name, `more than ${maxEntries} entries`);
  }
  if (off < tar.length || longName !== null || pax !== null) refuse(file, undefined, 'the archive ends in the middle of a header (truncated)');
  return out;
}

/** pax records: "<len> <key>=<value>\n". */
function parsePax(data: Buffer, file: string | undefined, entry: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    const len = sp > i ? Number(data.toString('latin1', i, sp)) : NaN;
    if (!Number.isSafeInteger(len) || len <= 0 || i + len > data.length) {
      if (data.subarray(i).every((b) => b === 0)) break;
      refuse(file, entry, `malformed pax header record at byte ${i}`);
    }
    const rec = data.toString('utf8', sp + 1, i + len - 1);
    const eq = rec.indexOf('=');
    if (eq <= 0) refuse(file, entry, `malformed pax header record '${rec.slice(0, 40)}'`);
    out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

/** Reads and checks an uncompressed tar archive; see the module comment. Nothing is written. */
export function readSafeTar(tar: Uint8Array, file?: string, opts: SafeTarOptions = {}): SafeTarEntry[] {
  const buf = Buffer.isBuffer(tar) ? tar : Buffer.from(tar.buffer, tar.byteOffset, tar.byteLength);
  const maxBytes = opts.maxBytes ?? SAFE_TAR_DEFAULTS.maxBytes;
  if (buf.length > maxBytes) refuse(file, undefined, `archive is ${buf.length} bytes, more than the limit of ${maxBytes}`);
  if (buf.length < BLOCK) refuse(file, undefined, `only ${buf.length} bytes: not a tar archive`);
  const raws = records(buf, file, opts.maxEntries ?? SAFE_TAR_DEFAULTS.maxEntries);

  const out: SafeTarEntry[] = [];
  /** Normalized path -> the entry's type ('file' also for hardlinks). */
  const kinds = new Map<string, SafeTarEntry['type']>();
  const files = new Map<string, Buffer>();
  for (const r of raws) {
    const checked = entryPathProblem(r.name);
    if ('problem' in checked) refuse(file, r.name, checked.problem);
    const path = checked.path;
    const kind: SafeTarEntry['type'] | 'hardlink' | null =
      r.flag === '0' || r.flag === '7' ? 'file' : r.flag === '5' ? 'dir' : r.flag === '2' ? 'symlink' : r.flag === '1' ? 'hardlink' : null;
    if (kind === null) {
      const what = r.flag === '3' ? 'a character device' : r.flag === '4' ? 'a block device' : r.flag === '6' ? 'a FIFO' : `of type '${r.flag}', which is not supported`;
      refuse(file, r.name, `is ${what}; bundles hold regular files and directories only`);
    }
    if (path === '') {
      if (kind !== 'dir') refuse(file, r.name, 'names the archive root but is not a directory');
      continue; // the root itself ('./')
    }
    if (kinds.has(path)) {
      if (kind === 'dir' && kinds.get(path) === 'dir') continue; // GNU tar may repeat a directory: harmless
      refuse(file, r.name, 'appears twice in the archive (which copy an extractor keeps differs)');
    }
    // Every ancestor must be a directory of this archive (or not listed): never a file or a symlink.
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      const pk = kinds.get(parent);
      if (pk === 'symlink') refuse(file, r.name, `lies below '${parent}', a symlink (writing through it could leave the directory)`);
      if (pk === 'file') refuse(file, r.name, `lies below '${parent}', which is a file`);
    }
    if (!Number.isFinite(r.mode) || !Number.isFinite(r.mtime)) refuse(file, r.name, 'mode or mtime field is malformed');
    const mode = r.mode & 0o777;
    if (kind === 'symlink') {
      if (opts.allowSymlinks === false) refuse(file, r.name, `is a symlink (to '${r.linkname}'), which is not allowed here`);
      const t = r.linkname;
      if (t === '' || t.includes('\0')) refuse(file, r.name, 'is a symlink with an empty target');
      if (t.startsWith('/') || /^[A-Za-z]:/.test(t) || t.includes('\\')) refuse(file, r.name, `is a symlink to '${t}', outside the archive`);
      const resolved = posix.normalize(posix.join(posix.dirname(path), t));
      if (resolved === '..' || resolved.startsWith('../')) refuse(file, r.name, `is a symlink to '${t}', which points outside the archive`);
      kinds.set(path, 'symlink');
      out.push({ path, type: 'symlink', mode: 0o777, mtime: r.mtime, data: Buffer.alloc(0), linkTarget: t });
      continue;
    }
    if (kind === 'hardlink') {
      const target = entryPathProblem(r.linkname);
      if ('problem' in target) refuse(file, r.name, `is a hardlink to '${r.linkname}': ${target.problem}`);
      const data = files.get(target.path);
      if (data === undefined) refuse(file, r.name, `is a hardlink to '${r.linkname}', which is not an earlier regular file of this archive`);
      kinds.set(path, 'file');
      files.set(path, data);
      out.push({ path, type: 'file', mode, mtime: r.mtime, data });
      continue;
    }
    kinds.set(path, kind);
    if (kind === 'file') files.set(path, r.data);
    out.push({ path, type: kind, mode, mtime: r.mtime, data: kind === 'file' ? r.data : Buffer.alloc(0) });
  }
  return out;
}

/** gunzip with the size limit enforced while decompressing (a zip bomb stops at `maxBytes`). */
export function gunzipLimited(gz: Uint8Array, file?: string, maxBytes: number = SAFE_TAR_DEFAULTS.maxBytes): Buffer {
  if (gz.length < 18 || gz[0] !== 0x1f || gz[1] !== 0x8b) refuse(file, undefined, 'not a gzip file (no gzip header)', 'pass the .tar.gz that `edgedistill bundle` wrote');
  try {
    return gunzipSync(gz, { maxOutputLength: maxBytes });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
      refuse(file, undefined, `expands to more than ${maxBytes} bytes (a zip bomb?); refused while decompressing`);
    }
    refuse(file, undefined, `gzip data is damaged: ${(e as Error).message}`, 'the copy is incomplete or corrupted; copy or build it again');
  }
}

/** Reads and checks a .tar.gz; see {@link readSafeTar}. */
export function readSafeTarGz(gz: Uint8Array, file?: string, opts: SafeTarOptions = {}): SafeTarEntry[] {
  return readSafeTar(gunzipLimited(gz, file, opts.maxBytes ?? SAFE_TAR_DEFAULTS.maxBytes), file, opts);
}

/**
 * Extracts checked entries into `dest`, which must not exist yet: everything is written into a
 * sibling temp directory first (files created exclusively, so nothing already there is followed),
 * symlinks last, then renamed to `dest`. On any failure the temp directory is removed, so `dest`
 * either appears complete or not at all.
 */
export function extractSafe(entries: readonly SafeTarEntry[], dest: string): void {
  // rename(2) would silently replace an empty directory: refuse any existing destination first.
  if (existsSync(dest)) throw new EdgeDistillError('IO', `cannot extract into ${dest}: it exists already`, { file: dest });
  const tmp = join(dirname(dest), `.${posix.basename(dest.replace(/\\/g, '/'))}.extract-${process.pid}-${Date.now()}`);
  mkdirSync(tmp, { recursive: false, mode: 0o755 });
  try {
    for (const e of entries) {
      const p = join(tmp, ...e.path.split('/'));
      if (e.type === 'dir') mkdirSync(p, { recursive: true, mode: 0o755 });
    }
    for (const e of entries) {
      if (e.type !== 'file') continue;
      const p = join(tmp, ...e.path.split('/'));
      mkdirSync(dirname(p), { recursive: true, mode: 0o755 });
      const fd = openSync(p, 'wx', e.mode || 0o644);
      try {
        let o = 0;
        while (o < e.data.length) o += writeSync(fd, e.data, o, e.data.length - o);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    for (const e of entries) {
      if (e.type !== 'symlink') continue;
      const p = join(tmp, ...e.path.split('/'));
      mkdirSync(dirname(p), { recursive: true, mode: 0o755 });
      symlinkSync(e.linkTarget as string, p);
    }
    renameSync(tmp, dest);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (e instanceof EdgeDistillError) throw e;
    throw new EdgeDistillError('IO', `cannot extract into ${dest}: ${(e as Error).message}`, { file: dest, cause: e });
  }
}

/** Names of the entries of a directory tree (for tests: what an extraction produced). */
export function listTree(dir: string, base = ''): string[] {
  const out: string[] = [];
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const rel = base ? `${base}/${d.name}` : d.name;
    out.push(rel);
    if (d.isDirectory()) out.push(...listTree(join(dir, d.name), rel));
  }
  return out.sort();
}
