/** `edgedistill export` end to end: a real process, real files, exit codes, --json, --help. */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, STUDENT_DIR, TEACHER_ONNX, tmp } from './helpers.js';

const CLI = join(ROOT, 'pipeline/bin/edgedistill.js');
const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: ROOT, env: { ...process.env, CI: '1' } });
let dir: string;
beforeAll(() => {
  dir = tmp();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('edgedistill export', () => {
  it('prints the parity table and writes the artifacts (exit 0)', () => {
    const out = join(dir, 'ok');
    const r = run(['export', '--policy', STUDENT_DIR, '--format', 'onnx,tflite,js,onnx-fp16', '--out', out, '--teacher', TEACHER_ONNX]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^format\s+file\s+bytes\s+runtime/m);
    expect(r.stdout).toMatch(/^onnx\s+policy\.onnx\s+\d+\s+onnxruntime-node/m);
    expect(r.stdout).toMatch(/all artifacts passed/);
    for (const f of ['policy.onnx', 'policy.tflite', 'policy.mjs', 'policy.fp16.onnx', 'artifacts.json', 'golden.json']) expect(existsSync(join(out, f)), f).toBe(true);
  });

  it('--json prints artifacts.json; a parity failure exits 1 with the manifest on stdout and the error on stderr', () => {
    const out = join(dir, 'fail');
    const r = run(['export', '--policy', STUDENT_DIR, '--format', 'js,js-int8', '--out', out, '--json']);
    expect(r.status).toBe(1);
    const m = JSON.parse(r.stdout);
    expect(m).toEqual(JSON.parse(readFileSync(join(out, 'artifacts.json'), 'utf8')));
    expect(m.passed).toBe(false);
    expect(m.artifacts.map((a: { status: string }) => a.status)).toEqual(['pass', 'fail']);
    expect(r.stderr).toMatch(/error\[PARITY\]/);
    expect(existsSync(join(out, 'policy.int8.mjs'))).toBe(false);

    const lenient = run(['export', '--policy', STUDENT_DIR, '--format', 'js-int8,c-int8', '--out', join(dir, 'lenient'), '--json', '--min-agreement', '0.95']);
    expect(lenient.status, lenient.stderr).toBe(0);
    expect(JSON.parse(lenient.stdout).tolerances.minAgreement).toBe(0.95);
  });

  it('bad input exits 2 naming the flag; --help has an example', () => {
    const r = run(['export', '--policy', STUDENT_DIR, '--format', 'onnx,gguf', '--out', join(dir, 'bad')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown export format "gguf"/);
    const h = run(['export', '--help']);
    expect(h.status).toBe(0);
    expect(h.stdout).toMatch(/Example:\n\s+\$ edgedistill export --policy/);
  });
});
