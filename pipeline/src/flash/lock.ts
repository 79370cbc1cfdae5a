/**
 * The device lock's owner record and the stale-lock rule, shared by ssh and dir targets.
 * A lock is stale when nothing on the device still works under it (no live device-side
 * activation) and either its owner was this machine and that process is gone, or it is older
 * than the lock timeout (another machine crashed mid-flash).
 */
import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';

export interface LockOwner {
  readonly token: string;
  readonly host: string;
  readonly pid: number;
  readonly user: string;
  readonly time: string;
  readonly bundle: string;
}

export function newToken(): string {
  return randomBytes(8).toString('hex');
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

export function ownerFor(token: string, bundle: string): LockOwner {
  return { token, host: hostname(), pid: process.pid, user: currentUser(), time: new Date().toISOString(), bundle };
}

/** The owner file's lines after `token=` (the scripts write the token line themselves). */
export function ownerLines(o: LockOwner): string {
  return [`host=${o.host}`, `pid=${o.pid}`, `user=${o.user}`, `time=${o.time}`, `bundle=${o.bundle}`].join('\n');
}

/** Parses `key=value` owner lines (with or without an `owner.` prefix). */
export function parseOwner(lines: ReadonlyMap<string, string>, prefix = ''): Partial<LockOwner> {
  const get = (k: string) => lines.get(`${prefix}${k}`);
  const pid = Number(get('pid'));
  return {
    token: get('token'),
    host: get('host'),
    pid: Number.isInteger(pid) ? pid : undefined,
    user: get('user'),
    time: get('time'),
    bundle: get('bundle'),
  };
}

/** True when process `pid` exists on this machine (EPERM: it exists, owned by someone else). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface StaleVerdict {
  readonly stale: boolean;
  readonly why: string;
}

export function judgeLock(owner: Partial<LockOwner>, ageSeconds: number, deviceBusy: boolean, lockTimeoutSeconds: number): StaleVerdict {
  const who = `${owner.user ?? '?'}@${owner.host ?? '?'} (pid ${owner.pid ?? '?'}, since ${owner.time ?? '?'})`;
  if (deviceBusy) return { stale: false, why: `a flash by ${who} is still checking on the device` };
  if (owner.host === hostname() && owner.pid !== undefined && owner.pid !== process.pid && !pidAlive(owner.pid)) {
    return { stale: true, why: `lock of ${who}: that process is gone` };
  }
  if (ageSeconds > lockTimeoutSeconds) return { stale: true, why: `lock of ${who} is ${ageSeconds}s old (timeout ${lockTimeoutSeconds}s)` };
  return { stale: false, why: `the device is being flashed by ${who}` };
}

/** Owner record as the lock file holds it, for dir targets. */
export function ownerFileText(o: LockOwner): string {
  return `token=${o.token}\n${ownerLines(o)}\n`;
}
