/**
 * What the device system tests share: repository paths, running a command to completion, the
 * `edgedistill` CLI, and the facts scripts/device/start.sh prints for an emulated device.
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

export const repo = resolve(import.meta.dirname, '../..');
export const scripts = join(repo, 'scripts/device');
export const cli = join(repo, 'pipeline/bin/edgedistill.js');
export const teacher = join(repo, 'models/cartpole-v1/teacher.onnx');

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunOptions {
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Runs a command to completion, capturing its output (default time limit 15 minutes). */
export function run(cmd: string, args: string[], o: number | RunOptions = {}): Promise<Run> {
  const opts = typeof o === 'number' ? { timeoutMs: o } : o;
  return new Promise((done, fail) => {
    const t0 = Date.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: opts.timeoutMs ?? 900_000, env: opts.env ?? process.env, cwd: opts.cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code, signal) => done({ code, signal, stdout, stderr, ms: Date.now() - t0 }));
  });
}

export const edgedistill = (...args: string[]) => run('node', [cli, ...args]);

/** The JSON scripts/device/start.sh prints for a started device. */
export interface Device {
  name: string;
  port: number;
  user: string;
  identity_file: string;
  known_hosts_file: string;
  ssh_config_file: string;
  ssh_host_alias: string;
  device_root: string;
  deploy_path: string;
  node_path: string;
}
