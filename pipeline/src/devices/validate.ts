/**
 * Device profile validation: devices/schema.json through ajv (every violation, not only the first),
 * then the rules a schema cannot say (the id matches the file name, onnxruntime-node is not listed
 * for 32-bit ARM). Each problem names the file, the field path and what was expected.
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { EdgeDistillError, type ErrorDetail } from '@edgedistill/runtime/errors';
import type { DeviceProfile } from './profile.js';

let compiled: ValidateFunction | null = null;

/** Directory of the shipped profiles and schema: <repo>/devices (EDGEDISTILL_DEVICES_DIR overrides). */
export function devicesDir(): string {
  return process.env.EDGEDISTILL_DEVICES_DIR ?? join(import.meta.dirname, '../../../devices');
}

function schemaValidator(): ValidateFunction {
  if (!compiled) {
    const file = join(devicesDir(), 'schema.json');
    let schema: Record<string, unknown>;
    try {
      schema = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new EdgeDistillError('IO', `cannot read the device profile schema: ${(e as Error).message}`, { file, cause: e });
    }
    const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
    compiled = ajv.compile(schema);
  }
  return compiled;
}

/** `/budgets/controlPeriodUs` -> `budgets.controlPeriodUs`; `/backends/2` -> `backends[2]`. */
export function fieldPath(instancePath: string, extra?: string): string {
  const parts = instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

const show = (v: unknown): string => JSON.stringify(v);

/** One ajv error as a located detail: what was expected, in words. */
function detailOf(e: ErrorObject, file: string, value: unknown): ErrorDetail {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return { file, field: fieldPath(e.instancePath, String(p.missingProperty)), text: 'is required but missing' };
    case 'additionalProperties':
      return {
        file,
        field: fieldPath(e.instancePath, String(p.additionalProperty)),
        text: `unknown key '${String(p.additionalProperty)}'`,
        suggestion: 'remove it, or check the spelling against devices/schema.json',
      };
    case 'enum':
      return { file, field: fieldPath(e.instancePath), text: `expected one of ${(p.allowedValues as unknown[]).map(show).join(', ')}, got ${show(value)}` };
    case 'type':
      return { file, field: fieldPath(e.instancePath), text: `expected ${String(p.type)}, got ${show(value)}` };
    case 'pattern':
      return { file, field: fieldPath(e.instancePath), text: `expected a string matching ${String(p.pattern)}, got ${show(value)}` };
    default:
      return { file, field: fieldPath(e.instancePath), text: `${e.message ?? e.keyword}${value !== undefined ? `, got ${show(value)}` : ''}` };
  }
}

/** The value at an ajv instance path (for messages). */
function valueAt(root: unknown, instancePath: string): unknown {
  let v: unknown = root;
  for (const part of instancePath.split('/').slice(1)) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return v;
}

/** Rules beyond the schema (run only on schema-valid profiles). */
function semanticProblems(p: DeviceProfile, file: string | undefined): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  if (file && /\.json$/.test(file) && basename(file) !== `${p.id}.json`) {
    out.push({ file, field: 'id', text: `is '${p.id}' but the file is ${basename(file)}; expected ${p.id}.json or id '${basename(file, '.json')}'` });
  }
  if (p.arch === 'armv7' && p.backends.includes('ort-node')) {
    out.push({
      file,
      field: `backends[${p.backends.indexOf('ort-node')}]`,
      text: "'ort-node' cannot run on armv7: onnxruntime-node ships binaries for x64 and arm64 only",
      suggestion: "use 'ort-web' (onnxruntime's WebAssembly build) for ONNX on 32-bit ARM",
    });
  }
  return out;
}

/** Every problem with `value` as a device profile (empty when valid). */
export function profileProblems(value: unknown, file?: string): ErrorDetail[] {
  const validate = schemaValidator();
  const where = file ?? '(device profile)';
  if (!validate(value)) {
    const errors = validate.errors ?? [];
    // ajv reports an enum's alternatives once per failing branch; keep one message per field and kind.
    const seen = new Set<string>();
    const out: ErrorDetail[] = [];
    for (const e of errors) {
      const d = detailOf(e, where, valueAt(value, e.instancePath));
      const key = `${d.field}|${d.text}`;
      if (!seen.has(key)) {
        seen.add(key);
        out.push(d);
      }
    }
    return out;
  }
  return semanticProblems(value as DeviceProfile, file);
}

/** `value` as a DeviceProfile, or `EdgeDistillError('BAD_CONFIG')` listing every problem. */
export function validateProfile(value: unknown, file?: string): DeviceProfile {
  const problems = profileProblems(value, file);
  if (problems.length > 0) {
    const first = problems[0];
    throw new EdgeDistillError(
      'BAD_CONFIG',
      `device profile does not match devices/schema.json (${problems.length} problem${problems.length === 1 ? '' : 's'}): ${first.field ? `${first.field} ` : ''}${first.text}`,
      { file, field: first.field || undefined, details: problems },
    );
  }
  return value as DeviceProfile;
}
