/**
 * Talking to a device through the system OpenSSH client, so the user's ~/.ssh/config, agent and
 * known_hosts apply. BatchMode is on (no prompts: a missing key or an unknown host key fails
 * instead of hanging); host-key checking is never turned off. Scripts run as `sh -c SCRIPT sh
 * ARGS...` with every argument single-quoted, leaving stdin free for data.
 */
import { spawn } from 'node:child_process';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import type { SshTarget } from './target.js';

export interface SshOptions {
  /** ssh -F FILE (the emulated devices ship one). */
  readonly configFile?: string;
  /** ssh -i FILE (and IdentitiesOnly yes). */
  readonly identity?: string;
  /** UserKnownHostsFile FILE. */
  readonly knownHosts?: string;
  /** ConnectTimeout in seconds (default 30). */
  readonly connectTimeout?: number;
  /** Called after every ssh/rsync/scp run with its command line and result (per-host logs). */
  readonly commandLog?: (cmd: string, args: readonly string[], r: RunResult, ms: number) => void;
}

/** POSIX shell single quoting. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** ssh options (no destination, no command). */
export function sshOptionArgs(t: SshTarget, o: SshOptions): string[] {
  const args: string[] = [];
  if (o.configFile) args.push('-F', o.configFile);
  args.push('-o', 'BatchMode=yes', '-o', `ConnectTimeout=${o.connectTimeout ?? 30}`, '-o', 'ServerAliveInterval=15', '-o', 'ServerAliveCountMax=4');
  if (o.identity) args.push('-i', o.identity, '-o', 'IdentitiesOnly=yes');
  if (o.knownHosts) args.push('-o', `UserKnownHostsFile=${o.knownHosts}`);
  if (t.port) args.push('-p', String(t.port));
  return args;
}

/** `[user@]host` as ssh takes it. */
export function sshDestination(t: SshTarget): string {
  return t.user ? `${t.user}@${t.host}` : t.host;
}

/** ssh options and destination, without the command. */
export function sshBaseArgs(t: SshTarget, o: SshOptions): string[] {
  return ['-T', ...sshOptionArgs(t, o), sshDestination(t)];
}

/** The `-e` value for rsync: the same ssh options, quoted for rsync's own word splitting. */
export function rsyncRsh(t: SshTarget, o: SshOptions): string {
  return ['ssh', ...sshOptionArgs(t, o)].map((a) => (/^[A-Za-z0-9_./=:@%+-]+$/.test(a) ? a : shQuote(a))).join(' ');
}

/** `[user@]host:path` for rsync and scp (IPv6 hosts in brackets). */
export function remoteSpec(t: SshTarget, path: string): string {
  const host = t.host.includes(':') ? `[${t.host}]` : t.host;
  return `${t.user ? `${t.user}@` : ''}${host}:${path}`;
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

export interface RunOptions {
  readonly input?: string | Buffer;
  readonly timeoutMs?: number;
  readonly onStdout?: (chunk: string) => void;
  readonly onStderr?: (chunk: string) => void;
}

/** Runs a program without a shell; never rejects on a non-zero exit (callers read `code`). */
export function runProgram(cmd: string, args: readonly string[], o: RunOptions = {}): Promise<RunResult> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer =
      o.timeoutMs !== undefined
        ? setTimeout(() => {
            timedOut = true;
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 5000).unref();
          }, o.timeoutMs)
        : null;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      stdout += d;
      o.onStdout?.(d);
    });
    child.stderr.on('data', (d: string) => {
      stderr += d;
      o.onStderr?.(d);
    });
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      fail(
        (e as NodeJS.ErrnoException).code === 'ENOENT'
          ? new EdgeDistillError('DEVICE', `'${cmd}' is not installed on this machine`, { suggestion: `install ${cmd === 'ssh' || cmd === 'scp' ? 'the OpenSSH client' : cmd}` })
          : e,
      );
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      done({ code, signal, stdout, stderr, timedOut });
    });
    child.stdin.on('error', () => undefined); // the remote may exit before reading all input
    child.stdin.end(o.input ?? '');
  });
}

/** Runs a shell script on the device: `sh -c SCRIPT sh ARGS...`, every argument quoted. */
export function runRemoteScript(t: SshTarget, o: SshOptions, script: string, args: readonly string[], r: RunOptions = {}): Promise<RunResult> {
  const command = ['sh', '-c', shQuote(script), 'sh', ...args.map(shQuote)].join(' ');
  return logged(o, 'ssh', [...sshBaseArgs(t, o), command], r);
}

/** runProgram, reported to o.commandLog when set. */
export async function logged(o: SshOptions, cmd: string, args: readonly string[], r: RunOptions = {}): Promise<RunResult> {
  const t0 = Date.now();
  const res = await runProgram(cmd, args, r);
  o.commandLog?.(cmd, args, res, Date.now() - t0);
  return res;
}

/** `key=value` lines as a map (the remote scripts report this way); later keys win. */
export function parseKeyValues(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0 && /^[a-z][a-zA-Z0-9_.]*$/.test(line.slice(0, i))) m.set(line.slice(0, i), line.slice(i + 1).replace(/\r$/, ''));
  }
  return m;
}

/** The last meaningful lines of ssh's stderr, for error messages. */
export function sshErrorText(r: RunResult): string {
  const lines = r.stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  if (r.timedOut) return 'timed out';
  return lines.slice(-3).join(' / ') || `exit ${r.code ?? r.signal}`;
}
