/**
 * A small deterministic ustar writer and reader, and a gzip whose header never varies.
 *
 * Reproducible archives: entries sorted by path (a directory entry sorts before what it holds),
 * fixed mtime (SOURCE_DATE_EPOCH or 0), uid/gid 0, empty uname/gname, fixed modes (0644 files,
 * 0755 directories and executables); gzip header mtime 0, XFL 0 and OS 3 (Unix) whatever zlib and
 * the platform would write. So the same inputs give the same sha256 on any machine.
 */
import { gunzipSync, gzipSync, constants as zlibConstants } from 'node:zlib';
import { EdgeDistillError } from '@edgedistill/runtime/errors';

export interface TarEntry {
  /** Relative path with forward slashes; directories end without a slash. */
  readonly path: string;
  readonly type: 'file' | 'dir';
  /** File contents (empty for directories). */
  readonly data?: Uint8Array;
  /** Mode bits; default 0644 (files) / 0755 (dirs). */
  readonly mode?: number;
}

const BLOCK = 512;

/** Every parent directory of the given file paths, as dir entries (so extractors never guess modes). */
export function withParentDirs(entries: readonly TarEntry[]): TarEntry[] {
  const dirs = new Set<string>();
  for (const e of entries) {
    if (e.type === 'dir') dirs.add(e.path);
    const parts = e.path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  const out: TarEntry[] = entries.filter((e) => e.type === 'file');
  for (const d of dirs) out.push({ path: d, type: 'dir' });
  return out;
}

/** Sort key: directories as `path/` so `a/` < `a/b` and a parent always precedes its children. */
function sortKey(e: TarEntry): string {
  return e.type === 'dir' ? `${e.path}/` : e.path;
}

export function sortEntries(entries: readonly TarEntry[]): TarEntry[] {
  return [...entries].sort((a, b) => {
    const ka = sortKey(a);
    const kb = sortKey(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

function checkPath(p: string): void {
  if (p === '' || p.startsWith('/') || p.includes('\\') || p.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new EdgeDistillError('BAD_ARGUMENT', `bad archive path '${p}': must be relative, forward slashes, no empty, '.' or '..' segments`, { field: p });
  }
}

function writeString(buf: Buffer, off: number, len: number, s: string): void {
  const b = Buffer.from(s, 'utf8');
  if (b.length > len) throw new EdgeDistillError('BAD_ARGUMENT', `archive header field too long: '${s}'`);
  b.copy(buf, off);
}

function writeOctal(buf: Buffer, off: number, len: number, n: number): void {
  // len-1 octal digits and a NUL terminator, zero padded (as GNU tar and bsdtar write them).
  const s = Math.floor(n).toString(8);
  if (s.length > len - 1) throw new EdgeDistillError('BAD_ARGUMENT', `archive number ${n} does not fit ${len - 1} octal digits`);
  writeString(buf, off, len, `${s.padStart(len - 1, '0')}\0`);
}

/** Splits a path into ustar's prefix (155) and name (100) fields. */
function splitName(path: string): { name: string; prefix: string } {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: '' };
  for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return { name, prefix };
  }
  throw new EdgeDistillError('BAD_ARGUMENT', `archive path too long for ustar (100 + 155 bytes): '${path}'`);
}

function header(e: TarEntry, size: number, mtime: number): Buffer {
  const h = Buffer.alloc(BLOCK, 0);
  const { name, prefix } = splitName(e.type === 'dir' ? `${e.path}/` : e.path);
  writeString(h, 0, 100, name);
  writeOctal(h, 100, 8, e.mode ?? (e.type === 'dir' ? 0o755 : 0o644));
  writeOctal(h, 108, 8, 0); // uid
  writeOctal(h, 116, 8, 0); // gid
  writeOctal(h, 124, 12, size);
  writeOctal(h, 136, 12, mtime);
  h.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  h[156] = e.type === 'dir' ? 0x35 : 0x30; // '5' directory, '0' regular file
  writeString(h, 257, 6, 'ustar\0');
  writeString(h, 263, 2, '00');
  // uname/gname (265, 297) stay empty; devmajor/devminor zero.
  writeOctal(h, 329, 8, 0);
  writeOctal(h, 337, 8, 0);
  writeString(h, 345, 155, prefix);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i];
  writeString(h, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
}

/** The fixed mtime: SOURCE_DATE_EPOCH when set (reproducible-builds.org), else 0. */
export function archiveMtime(env: NodeJS.ProcessEnv = process.env): number {
  const s = env.SOURCE_DATE_EPOCH;
  if (s === undefined || s === '') return 0;
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0) throw new EdgeDistillError('BAD_ARGUMENT', `SOURCE_DATE_EPOCH must be a non-negative integer, got '${s}'`, { field: 'SOURCE_DATE_EPOCH' });
  return n;
}

/** An uncompressed ustar archive of `entries` (sorted here; parents added). */
export function writeTar(entries: readonly TarEntry[], mtime = archiveMtime()): Buffer {
  const all = sortEntries(withParentDirs(entries));
  const seen = new Set<string>();
  const parts: Buffer[] = [];
  for (const e of all) {
    checkPath(e.path);
    const key = sortKey(e);
    if (seen.has(key)) throw new EdgeDistillError('BAD_ARGUMENT', `duplicate archive path '${e.path}'`, { field: e.path });
    seen.add(key);
    const data = e.type === 'file' ? (e.data ?? new Uint8Array(0)) : new Uint8Array(0);
    parts.push(header(e, data.length, mtime));
    if (data.length > 0) {
      parts.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
      if (pad) parts.push(Buffer.alloc(pad, 0));
    }
  }
  parts.push(Buffer.alloc(BLOCK * 2, 0)); // end of archive
  return Buffer.concat(parts);
}

/**
 * gzip with a fixed header: zlib already writes MTIME 0 when given a buffer, but XFL depends on
 * the level and OS on the platform zlib was built for; both are pinned so Windows and Linux agree.
 */
export function gzipDeterministic(data: Uint8Array): Buffer {
  const gz = gzipSync(data, { level: 9, memLevel: 9, strategy: zlibConstants.Z_DEFAULT_STRATEGY });
  gz.writeUInt32LE(0, 4); // MTIME
  gz[8] = 2; // XFL: maximum compression
  gz[9] = 3; // OS: Unix
  return gz;
}

export function writeTarGz(entries: readonly TarEntry[], mtime = archiveMtime()): Buffer {
  return gzipDeterministic(writeTar(entries, mtime));
}

export interface ReadTarEntry {
  readonly path: string;
  readonly type: 'file' | 'dir' | 'other';
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly uname: string;
  readonly gname: string;
  readonly mtime: number;
  readonly data: Buffer;
}

function readString(buf: Buffer, off: number, len: number): string {
  const end = buf.indexOf(0, off);
  return buf.toString('utf8', off, end === -1 || end > off + len ? off + len : end);
}

function readOctal(buf: Buffer, off: number, len: number): number {
  const s = readString(buf, off, len).trim();
  return s === '' ? 0 : parseInt(s, 8);
}

/** Reads a ustar archive (what {@link writeTar} writes; no GNU/pax extensions). */
export function readTar(tar: Buffer, file?: string): ReadTarEntry[] {
  const out: ReadTarEntry[] = [];
  let off = 0;
  while (off + BLOCK <= tar.length) {
    const h = tar.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i];
    if (sum !== readOctal(h, 148, 8)) throw new EdgeDistillError('BAD_CONFIG', `tar header checksum mismatch at byte ${off}`, { file });
    const name = readString(h, 0, 100);
    const prefix = readString(h, 345, 155);
    const size = readOctal(h, 124, 12);
    const flag = String.fromCharCode(h[156] || 0x30);
    let path = prefix ? `${prefix}/${name}` : name;
    if (path.endsWith('/')) path = path.slice(0, -1);
    const dataStart = off + BLOCK;
    if (dataStart + size > tar.length) throw new EdgeDistillError('BAD_CONFIG', `tar entry '${path}' is truncated`, { file });
    out.push({
      path,
      type: flag === '5' ? 'dir' : flag === '0' ? 'file' : 'other',
      mode: readOctal(h, 100, 8),
      uid: readOctal(h, 108, 8),
      gid: readOctal(h, 116, 8),
      uname: readString(h, 265, 32),
      gname: readString(h, 297, 32),
      mtime: readOctal(h, 136, 12),
      data: tar.subarray(dataStart, dataStart + size),
    });
    off = dataStart + Math.ceil(size / BLOCK) * BLOCK;
  }
  return out;
}

export function readTarGz(gz: Buffer, file?: string): ReadTarEntry[] {
  let tar: Buffer;
  try {
    tar = gunzipSync(gz);
  } catch (e) {
    throw new EdgeDistillError('BAD_CONFIG', `not a gzip file: ${(e as Error).message}`, { file, cause: e });
  }
  return readTar(tar, file);
}
