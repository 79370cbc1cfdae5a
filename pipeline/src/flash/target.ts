/**
 * Flash targets: `ssh://[user@]host[:port][/path][?node=/path/to/node]` (a host may be an alias
 * from the user's ssh config) or `dir:/path` (the deploy directory inside a mounted SD-card root
 * file system). Paths are restricted to a safe character set so they never need quoting games.
 */
import { isAbsolute, resolve } from 'node:path';
import { EdgeDistillError } from '@edgedistill/runtime/errors';

export interface SshTarget {
  readonly kind: 'ssh';
  readonly raw: string;
  /** Short name for tables: host[:port]. */
  readonly label: string;
  readonly user: string | null;
  readonly host: string;
  readonly port: number | null;
  /** Deploy directory; null: the profile's deploy.path. */
  readonly path: string | null;
  /** Node on the device; null: the profile's deploy.nodePath. */
  readonly node: string | null;
}

export interface DirTarget {
  readonly kind: 'dir';
  readonly raw: string;
  readonly label: string;
  readonly path: string;
}

export type Target = SshTarget | DirTarget;

/** Characters allowed in device paths (as devices/schema.json's deploy.path). */
export const SAFE_PATH = /^\/[A-Za-z0-9._/+@-]*$/;

function bad(raw: string, why: string): EdgeDistillError {
  return new EdgeDistillError('BAD_ARGUMENT', `bad target '${raw}': ${why}`, {
    field: '--target',
    suggestion: 'use ssh://user@host[:port]/deploy/path, ssh://alias (from ~/.ssh/config) or dir:/mnt/sdcard/home/pi/edgedistill',
  });
}

export function parseTarget(raw: string): Target {
  if (raw.startsWith('dir:')) {
    const p = raw.slice(4);
    if (p === '' || !isAbsolute(p)) throw bad(raw, 'dir: needs an absolute path');
    const path = resolve(p);
    return { kind: 'dir', raw, label: `dir:${path}`, path };
  }
  if (!raw.startsWith('ssh://')) throw bad(raw, "expected 'ssh://' or 'dir:'");
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw bad(raw, 'not a valid URL');
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw bad(raw, 'no host');
  if (!/^[A-Za-z0-9._:%-]+$/.test(host)) throw bad(raw, `host '${host}' has characters ssh would not accept`);
  const user = url.username ? decodeURIComponent(url.username) : null;
  if (user !== null && !/^[A-Za-z0-9._-]+$/.test(user)) throw bad(raw, `user '${user}' has unexpected characters`);
  if (url.password) throw bad(raw, 'passwords in the URL are not supported: use keys (ssh-agent, --identity)');
  const port = url.port ? Number(url.port) : null;
  const rawPath = decodeURIComponent(url.pathname);
  const path = rawPath === '' || rawPath === '/' ? null : rawPath.replace(/\/+$/, '');
  if (path !== null && !SAFE_PATH.test(path)) throw bad(raw, `path '${path}' must be absolute and use only letters, digits and . _ / + @ -`);
  const node = url.searchParams.get('node');
  if (node !== null && !SAFE_PATH.test(node)) throw bad(raw, `node path '${node}' must be absolute and use only letters, digits and . _ / + @ -`);
  for (const k of url.searchParams.keys()) if (k !== 'node') throw bad(raw, `unknown parameter '${k}' (only ?node=PATH)`);
  const label = `${user ? `${user}@` : ''}${host}${port ? `:${port}` : ''}`;
  return { kind: 'ssh', raw, label, user, host, port, path, node };
}
