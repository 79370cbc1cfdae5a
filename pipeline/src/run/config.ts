/**
 * The run config: read (JSON or YAML), checked against config.schema.json (every problem, each
 * naming the field path and what was expected, with the line in the file), then the rules a
 * schema cannot say (a registered env, a shipped teacher for it, known device profiles), and
 * resolved into a RunConfig with every default filled in.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { LineCounter, parseDocument, isMap, type Document } from 'yaml';
import { listEnvs, makeEnv, type EnvOptions } from '@edgedistill/runtime/envs';
import { EdgeDistillError, type ErrorDetail } from '@edgedistill/runtime/errors';
import { closest } from '../../../runtime/src/envs/suggest.js';
import type { PruneSpec } from '../compress/compress.js';
import { listProfileIds } from '../devices/index.js';
import type { ExportFormat } from '../export/index.js';
import type { TeacherObsNorm } from '../onnx/import.js';
import { hostProfile, type HostMatch } from './host.js';

export const ALL_FORMATS: readonly ExportFormat[] = ['onnx', 'onnx-int8', 'onnx-fp16', 'tflite', 'tflite-int8', 'tflite-fp16', 'js', 'js-int8', 'c-int8'];
/** `devices` entry meaning "the profile matching this machine". */
export const HOST_DEVICE = 'host';
export const MODELS_DIR = join(import.meta.dirname, '../../../models');
export const SCHEMA_FILE = join(import.meta.dirname, 'config.schema.json');

/**
 * The embedded default (`edgedistill run` without a config, `npm start`): CartPole-v1 with its
 * shipped teacher, sized to finish in well under 90 s on a loaded 2-core machine. It is
 * configs/cartpole-v1.yaml with `out: out`.
 */
export const DEFAULT_CONFIG = {
  env: 'CartPole-v1',
  teacher: 'shipped',
  distill: { student: [32, 32], seed: 0, maxSamples: 1_500_000 },
  compress: { prune: { kind: 'structured', fraction: 0.5 }, quantize: 'int8', qat: false },
  export: { formats: [...ALL_FORMATS] },
  devices: ['rpi4-arm64', HOST_DEVICE],
  check: { episodes: 20, minCalls: 10_000, maxSeconds: 3 },
  out: 'out',
} as const;

export interface RunConfig {
  /** The config file, or "(built-in default)". */
  readonly source: string;
  readonly env: string;
  /** Environment options (a variant), checked against the env; null: the defaults. */
  readonly envOptions: EnvOptions | null;
  readonly name: string;
  readonly teacher: { readonly kind: 'shipped' | 'file'; readonly file: string };
  readonly teacherOutput: 'logits' | 'q_values' | 'action' | null;
  readonly obsNorm: TeacherObsNorm | null;
  readonly distill: {
    readonly student: number[] | null;
    readonly activation: 'relu' | 'tanh' | null;
    readonly loss: 'kl' | 'nll' | 'mse' | null;
    readonly tau: number | null;
    readonly seed: number;
    readonly maxSamples: number | null;
    readonly maxSeconds: number | null;
    readonly episodes: number | null;
    readonly target: { agreement?: number; retention?: number; actionError?: number } | null;
  };
  readonly compress: {
    readonly prune: PruneSpec | null;
    readonly share: number | null;
    readonly quantize: 'int8' | 'fp16' | null;
    readonly autoShrink: boolean;
    readonly qat: boolean;
    readonly percentile: number | null;
    readonly outputMargin: number | null;
    readonly finetuneSteps: number | null;
    readonly targets: { agreement?: number; retention?: number } | null;
    readonly seed: number;
  };
  readonly export: { readonly formats: ExportFormat[]; readonly goldenRows: number | null; readonly seed: number; readonly minAgreement: number | null };
  /** Profile ids (or profile .json paths), "host" resolved. */
  readonly devices: string[];
  /** The profile matching this machine (its bundle is the one checked here), or null. */
  readonly host: HostMatch | null;
  readonly check: { readonly enabled: boolean; readonly episodes: number; readonly minCalls: number; readonly maxSeconds: number };
  /** Absolute output directory. */
  readonly out: string;
  /** What was noted while resolving (e.g. no profile matches this host). */
  readonly notes: string[];
}

type Json = Record<string, unknown>;
type Schema = Json;

let validator: { validate: ValidateFunction; schema: Schema } | null = null;

function schemaValidator(): { validate: ValidateFunction; schema: Schema } {
  if (!validator) {
    const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as Schema;
    const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
    validator = { validate: ajv.compile(schema), schema };
  }
  return validator;
}

// ---- error messages ----

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** JSON of a value for messages, cut short. */
function show(v: unknown): string {
  const s = v === undefined ? 'nothing' : JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** `["distill", "student", 1]` -> `distill.student[1]`. */
export function formatPath(parts: readonly (string | number)[]): string {
  let out = '';
  for (const p of parts) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

function pathParts(instancePath: string): (string | number)[] {
  return instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

/** The schema of the value at `parts` (properties / items only: this schema has no $ref). */
function schemaAt(root: Schema, parts: readonly (string | number)[]): Schema | null {
  let s: Schema | null = root;
  for (const p of parts) {
    if (!s) return null;
    if (typeof p === 'number') s = isObj(s.items) ? s.items : null;
    else if (isObj(s.properties) && isObj((s.properties as Json)[p])) s = (s.properties as Json)[p] as Schema;
    else s = isObj(s.additionalProperties) ? (s.additionalProperties as Schema) : null; // a map's values (envOptions)
  }
  return s;
}

function rangeText(s: Schema, noun: 'integer' | 'number'): string {
  const lo = typeof s.minimum === 'number' ? { v: s.minimum, open: false } : typeof s.exclusiveMinimum === 'number' ? { v: s.exclusiveMinimum, open: true } : null;
  const hi = typeof s.maximum === 'number' ? { v: s.maximum, open: false } : typeof s.exclusiveMaximum === 'number' ? { v: s.exclusiveMaximum, open: true } : null;
  const article = noun === 'integer' ? 'an' : 'a';
  if (lo && !hi) {
    if ((lo.v === 0 && lo.open) || (noun === 'integer' && lo.v === 1 && !lo.open)) return `a positive ${noun}`;
    if (lo.v === 0 && !lo.open) return `a non-negative ${noun}`;
    return `${article} ${noun} ${lo.open ? '>' : '>='} ${lo.v}`;
  }
  if (lo && hi) return `${article} ${noun} in ${lo.open ? '(' : '['}${lo.v}, ${hi.v}${hi.open ? ')' : ']'}`;
  if (hi) return `${article} ${noun} ${hi.open ? '<' : '<='} ${hi.v}`;
  return `${article} ${noun}`;
}

/** What a schema accepts, in words: "a positive integer", "one of "kl", "nll", "mse"". */
export function describeSchema(s: Schema | null): string {
  if (!s) return 'nothing here';
  if (Array.isArray(s.enum)) return s.enum.length === 1 ? show(s.enum[0]) : `one of ${s.enum.map(show).join(', ')}`;
  if (s.const !== undefined) return show(s.const);
  const types = Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === 'string' ? [s.type] : [];
  const words = types.map((t) => {
    switch (t) {
      case 'integer':
      case 'number':
        return rangeText(s, t);
      case 'string':
        return typeof s.pattern === 'string' ? `a string matching ${s.pattern}` : 'a string';
      case 'boolean':
        return 'true or false';
      case 'null':
        return 'null';
      case 'array': {
        const item = describeSchema(isObj(s.items) ? s.items : null);
        const many = /^an? /.test(item) ? item.replace(/^an? /, '').replace(/\b(integer|number|string|mapping)\b/, '$1s') : `items each ${item}`;
        return `${typeof s.minItems === 'number' && s.minItems > 0 ? 'a non-empty ' : 'a '}list of ${many}`;
      }
      case 'object':
        return isObj(s.properties) ? `a mapping with keys ${Object.keys(s.properties).filter((k) => k !== '$schema').join(', ')}` : 'a mapping';
      default:
        return t;
    }
  });
  return words.join(' or ');
}

/** Where a field is in the source text (YAML or JSON), as `file:line`. */
type Locate = (parts: readonly (string | number)[], key?: boolean) => string;

function locator(file: string, doc: Document | null, lc: LineCounter | null): Locate {
  return (parts, key = false) => {
    if (!doc || !lc) return file;
    try {
      if (key && parts.length > 0) {
        const parent = parts.length === 1 ? doc.contents : doc.getIn(parts.slice(0, -1), true);
        if (isMap(parent)) {
          const pair = parent.items.find((i) => (i.key as { value?: unknown } | null)?.value === parts[parts.length - 1]);
          const r = (pair?.key as { range?: number[] } | null)?.range;
          if (r) return `${file}:${lc.linePos(r[0]).line}`;
        }
      }
      // The node itself, else the closest parent that exists.
      for (let n = parts.length; n >= 0; n--) {
        const node = n === 0 ? doc.contents : doc.getIn(parts.slice(0, n), true);
        const r = (node as { range?: number[] } | null)?.range;
        if (r) return `${file}:${lc.linePos(r[0]).line}`;
      }
    } catch {
      /* fall through */
    }
    return file;
  };
}

function valueAt(root: unknown, parts: readonly (string | number)[]): unknown {
  let v = root;
  for (const p of parts) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[p];
  }
  return v;
}

/** Every schema problem, one per field, in words. */
export function schemaProblems(value: unknown, locate: Locate): ErrorDetail[] {
  const { validate, schema } = schemaValidator();
  if (validate(value)) return [];
  const out: ErrorDetail[] = [];
  const seen = new Set<string>();
  const push = (d: ErrorDetail) => {
    const k = `${d.field}|${d.text}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push(d);
    }
  };
  for (const e of (validate.errors ?? []) as ErrorObject[]) {
    const parts = pathParts(e.instancePath);
    const p = e.params as Record<string, unknown>;
    if (e.keyword === 'if') continue;
    if (e.keyword === 'required') {
      const key = String(p.missingProperty);
      const field = formatPath([...parts, key]);
      const s = schemaAt(schema, [...parts, key]);
      push({ file: locate(parts), field, text: `is missing: expected ${describeSchema(s)}`, suggestion: typeof s?.description === 'string' ? s.description : undefined });
      continue;
    }
    if (e.keyword === 'additionalProperties') {
      const key = String(p.additionalProperty);
      const parent = schemaAt(schema, parts);
      const known = Object.keys((parent?.properties as Json | undefined) ?? {}).filter((k) => k !== '$schema');
      const guess = closest(key, known);
      push({
        file: locate([...parts, key], true),
        field: formatPath([...parts, key]),
        text: `unknown key ${show(key)}`,
        suggestion: guess ? `did you mean ${show(guess)}?` : `known keys${parts.length ? ` of ${formatPath(parts)}` : ''}: ${known.join(', ')}`,
      });
      continue;
    }
    if (e.keyword === 'uniqueItems') {
      push({ file: locate(parts), field: formatPath(parts), text: `has the same item twice (items ${String(p.j)} and ${String(p.i)})` });
      continue;
    }
    push({ file: locate(parts), field: formatPath(parts) || '(top level)', text: `expected ${describeSchema(schemaAt(schema, parts))}, got ${show(valueAt(value, parts))}` });
  }
  return out;
}

const lineOf = (d: ErrorDetail) => Number(/:(\d+)$/.exec(d.file ?? '')?.[1] ?? 0);

/**
 * One problem: `file:line: field: text`. Several: "N problems in the config", each listed (in
 * file order) with its line and field.
 */
function configError(where: string, problems: ErrorDetail[], hint?: string): EdgeDistillError {
  const sorted = [...problems].sort((a, b) => lineOf(a) - lineOf(b));
  if (sorted.length === 1) {
    const [p] = sorted;
    return new EdgeDistillError('BAD_CONFIG', p.text, { file: p.file ?? where, field: p.field, suggestion: p.suggestion ?? hint });
  }
  return new EdgeDistillError('BAD_CONFIG', `${sorted.length} problems in the config`, { file: where, details: sorted, suggestion: hint });
}

// ---- reading ----

export interface ParsedConfig {
  readonly value: unknown;
  readonly locate: Locate;
}

/** Parses JSON or YAML text (JSON is YAML 1.2, so one parser gives line numbers for both). */
export function parseConfigText(text: string, file: string): ParsedConfig {
  if (/\.json$/i.test(file)) {
    try {
      JSON.parse(text);
    } catch (e) {
      throw new EdgeDistillError('BAD_CONFIG', `not valid JSON: ${(e as Error).message}`, { file });
    }
  }
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const line = e.linePos?.[0]?.line;
    const say = (x: { message: string; code?: string; pos?: [number, number] }) => {
      // Name the repeated key ("env"), not just "Map keys must be unique".
      const key = x.code === 'DUPLICATE_KEY' && x.pos ? /^["']?([^"':\n]+)/.exec(text.slice(x.pos[0]))?.[1]?.trim() : undefined;
      return key ? `the key "${key}" appears twice in the same mapping` : x.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    };
    throw new EdgeDistillError('BAD_CONFIG', `not valid YAML: ${say(e)}`, {
      file: line ? `${file}:${line}` : file,
      details: doc.errors.slice(1).map((x) => ({ file: x.linePos?.[0] ? `${file}:${x.linePos[0].line}` : file, text: say(x) })),
    });
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // e.g. an alias bomb ("Excessive alias count")
    throw new EdgeDistillError('BAD_CONFIG', `not a usable YAML document: ${(e as Error).message}`, { file });
  }
  return { value, locate: locator(file, doc, lc) };
}

/** Reads a config file. */
export function readConfigFile(file: string): ParsedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new EdgeDistillError(code === 'ENOENT' ? 'BAD_ARGUMENT' : 'IO', code === 'ENOENT' ? 'config file not found' : `cannot read the config: ${(e as Error).message}`, {
      file,
      field: 'CONFIG',
      suggestion: code === 'ENOENT' ? `example configs: ${exampleConfigs().join(', ') || 'configs/*.yaml'}` : undefined,
    });
  }
  return parseConfigText(text, file);
}

/** The example configs shipped in configs/. */
export function exampleConfigs(): string[] {
  const dir = join(import.meta.dirname, '../../../configs');
  try {
    return readdirSync(dir)
      .filter((f) => /\.ya?ml$|\.json$/.test(f))
      .sort()
      .map((f) => `configs/${f}`);
  } catch {
    return [];
  }
}

/** Env ids with a shipped teacher (models/<id lower case>/teacher.onnx). */
export function shippedTeachers(): string[] {
  return listEnvs()
    .map((s) => s.id)
    .filter((id) => existsSync(shippedTeacherFile(id)));
}

export function shippedTeacherFile(envId: string): string {
  return join(MODELS_DIR, envId.toLowerCase(), 'teacher.onnx');
}

// ---- resolving ----

export interface ResolveOptions {
  /** Where the config came from (for messages and relative teacher paths); null: the built-in default. */
  readonly file?: string | null;
  readonly locate?: Locate;
  /** Replaces the config's `out` (the CLI's --out). */
  readonly out?: string;
  /** Replaces the host detection (tests). */
  readonly host?: HostMatch | null;
}

/** Schema check, then the semantic rules, then defaults: the config the run uses. */
export function resolveConfig(value: unknown, o: ResolveOptions = {}): RunConfig {
  const file = o.file ?? null;
  const where = file ?? '(built-in default config)';
  const locate: Locate = o.locate ?? (() => where);
  const problems = schemaProblems(value, locate);
  if (problems.length > 0) throw configError(where, problems, 'the schema is pipeline/src/run/config.schema.json; example configs are in configs/');
  const c = value as Json;
  const sub = (k: string) => (isObj(c[k]) ? (c[k] as Json) : {});
  const d = sub('distill');
  const k = sub('compress');
  const x = sub('export');
  const ch = sub('check');
  const bad: ErrorDetail[] = [];
  const notes: string[] = [];

  // Env.
  const env = c.env as string;
  const envIds = listEnvs().map((s) => s.id);
  if (!envIds.includes(env)) {
    const guess = closest(env, envIds);
    bad.push({ file: locate(['env']), field: 'env', text: `unknown environment ${show(env)}`, suggestion: guess ? `did you mean ${show(guess)}?` : `one of ${envIds.join(', ')}` });
  }

  // Env options: checked by building the env once (as --env-option), the error naming the key.
  let envOptions: EnvOptions | null = null;
  if (isObj(c.envOptions) && envIds.includes(env)) {
    envOptions = c.envOptions as EnvOptions;
    try {
      makeEnv(env, envOptions);
    } catch (e) {
      if (!(e instanceof EdgeDistillError) || e.code !== 'BAD_ARGUMENT') throw e;
      const key = e.field?.startsWith('options.') ? e.field.slice('options.'.length) : null;
      bad.push({ file: locate(key ? ['envOptions', key] : ['envOptions'], true), field: key ? `envOptions.${key}` : 'envOptions', text: e.message, suggestion: e.suggestion });
    }
    if (Object.keys(envOptions).length === 0) envOptions = null;
  }

  // Teacher.
  const teacherArg = typeof c.teacher === 'string' ? c.teacher : 'shipped';
  let teacher: RunConfig['teacher'] = { kind: 'shipped', file: shippedTeacherFile(env) };
  if (teacherArg === 'shipped') {
    if (envIds.includes(env) && !existsSync(teacher.file)) {
      bad.push({ file: locate(['teacher']), field: 'teacher', text: `no shipped teacher for ${env}`, suggestion: `shipped teachers: ${shippedTeachers().join(', ')}; or give a teacher .onnx file` });
    }
  } else {
    const base = file ? dirname(resolve(file)) : process.cwd();
    const abs = isAbsolute(teacherArg) ? teacherArg : resolve(base, teacherArg);
    teacher = { kind: 'file', file: abs };
    if (!existsSync(abs)) bad.push({ file: locate(['teacher']), field: 'teacher', text: `teacher file not found: ${abs}`, suggestion: file ? 'a relative path is taken from the config file\'s directory' : undefined });
  }

  // obsNorm: var or std, one value per observation dimension each.
  let obsNorm: TeacherObsNorm | null = null;
  if (isObj(c.obsNorm)) {
    const n = c.obsNorm as Json;
    if (n.var === undefined && n.std === undefined) bad.push({ file: locate(['obsNorm']), field: 'obsNorm', text: 'needs var or std (with mean)' });
    for (const key of ['var', 'std'] as const) {
      const v = n[key];
      if (Array.isArray(v) && v.length !== (n.mean as unknown[]).length) {
        bad.push({ file: locate(['obsNorm', key]), field: `obsNorm.${key}`, text: `has ${v.length} values but mean has ${(n.mean as unknown[]).length}` });
      }
    }
    obsNorm = n as unknown as TeacherObsNorm;
  }

  // Pruning: each kind takes its own fields.
  let prune: PruneSpec | null = null;
  if (isObj(k.prune)) {
    const p = k.prune as Json;
    const wrong = (field: string, text: string) => bad.push({ file: locate(['compress', 'prune', field], true), field: `compress.prune.${field}`, text });
    const need = p.kind === 'structured' ? 'fraction' : 'sparsity';
    if (p[need] === undefined) {
      bad.push({ file: locate(['compress', 'prune']), field: `compress.prune.${need}`, text: `is required for kind ${show(p.kind)}: expected a number in (0, 1)` });
    }
    if (p.kind === 'structured') {
      if (p.sparsity !== undefined) wrong('sparsity', 'is for kind "unstructured"; structured pruning takes fraction (of hidden units)');
      if (p.scope !== undefined) wrong('scope', 'is for kind "unstructured"');
      prune = { kind: 'structured', fraction: p.fraction as number, method: p.importance as 'l1' | 'l2' | 'activation' | undefined };
    } else {
      if (p.fraction !== undefined) wrong('fraction', 'is for kind "structured"; unstructured pruning takes sparsity (of weights)');
      if (p.importance !== undefined) wrong('importance', 'is for kind "structured"');
      prune = { kind: 'unstructured', sparsity: p.sparsity as number, scope: p.scope as 'global' | 'layer' | undefined };
    }
  } else if (k.prune === undefined) {
    prune = { kind: 'structured', fraction: 0.5 };
  }

  // Devices: known profiles (or profile files), "host" resolved.
  const host = o.host !== undefined ? o.host : hostProfile();
  const ids = listProfileIds();
  const devicesRaw = Array.isArray(c.devices) ? (c.devices as string[]) : [...DEFAULT_CONFIG.devices];
  const devices: string[] = [];
  devicesRaw.forEach((id, i) => {
    if (id === HOST_DEVICE) {
      if (host) devices.push(host.id);
      else notes.push(`no device profile matches this machine (${process.platform} ${process.arch}): no bundle for it, no on-device check`);
      return;
    }
    if (id.endsWith('.json') || id.includes('/')) {
      const abs = resolve(file ? dirname(resolve(file)) : process.cwd(), id);
      if (!existsSync(abs)) bad.push({ file: locate(['devices', i]), field: `devices[${i}]`, text: `device profile file not found: ${abs}` });
      devices.push(abs);
      return;
    }
    if (!ids.includes(id)) {
      const guess = closest(id, [...ids, HOST_DEVICE]);
      bad.push({ file: locate(['devices', i]), field: `devices[${i}]`, text: `unknown device profile ${show(id)}`, suggestion: guess ? `did you mean ${show(guess)}?` : `known profiles: ${ids.join(', ')}, or "host"` });
      return;
    }
    devices.push(id);
  });
  const uniqueDevices = [...new Set(devices)];

  if (bad.length > 0) throw configError(where, bad);

  const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
  const outArg = o.out ?? (typeof c.out === 'string' ? c.out : DEFAULT_CONFIG.out);
  const hostInDevices = host !== null && uniqueDevices.includes(host.id);
  const checkEnabled = ch.enabled !== false;
  if (envOptions) notes.push('envOptions apply to the distill and compress stages (their states and returns); the on-device check scores returns on the default env (bundles carry no env options yet)');
  if (checkEnabled && !hostInDevices && host) notes.push(`devices has no bundle for this machine (${host.id}): no on-device check`);
  return {
    source: file ?? 'built-in default',
    env,
    name: typeof c.name === 'string' ? c.name : env.toLowerCase(),
    teacher,
    envOptions,
    teacherOutput: (c.teacherOutput as RunConfig['teacherOutput']) ?? null,
    obsNorm,
    distill: {
      student: Array.isArray(d.student) ? (d.student as number[]) : null,
      activation: (d.activation as 'relu' | 'tanh' | undefined) ?? null,
      loss: (d.loss as 'kl' | 'nll' | 'mse' | undefined) ?? null,
      tau: num(d.tau),
      seed: num(d.seed) ?? 0,
      maxSamples: num(d.maxSamples),
      maxSeconds: num(d.maxSeconds),
      episodes: num(d.episodes),
      target: isObj(d.target) ? (d.target as RunConfig['distill']['target']) : null,
    },
    compress: {
      prune,
      share: num(k.share),
      quantize: k.quantize === undefined ? 'int8' : k.quantize === 'none' ? null : (k.quantize as 'int8' | 'fp16'),
      autoShrink: k.autoShrink === true,
      qat: k.qat === true,
      percentile: num(k.percentile),
      outputMargin: num(k.outputMargin),
      finetuneSteps: num(k.finetuneSteps),
      targets: isObj(k.targets) ? (k.targets as RunConfig['compress']['targets']) : null,
      seed: num(k.seed) ?? 0,
    },
    export: {
      formats: Array.isArray(x.formats) ? (x.formats as ExportFormat[]) : [...ALL_FORMATS],
      goldenRows: num(x.goldenRows),
      seed: num(x.seed) ?? 0,
      minAgreement: num(x.minAgreement),
    },
    devices: uniqueDevices,
    host: hostInDevices ? host : null,
    check: {
      enabled: checkEnabled && hostInDevices,
      episodes: num(ch.episodes) ?? DEFAULT_CONFIG.check.episodes,
      minCalls: num(ch.minCalls) ?? DEFAULT_CONFIG.check.minCalls,
      maxSeconds: num(ch.maxSeconds) ?? DEFAULT_CONFIG.check.maxSeconds,
    },
    out: resolve(outArg),
    notes,
  };
}

/** A config file (or the built-in default when `file` is null), checked and resolved. */
export function loadRunConfig(file: string | null, o: Omit<ResolveOptions, 'file' | 'locate'> = {}): RunConfig {
  if (file === null) return resolveConfig(structuredClone(DEFAULT_CONFIG), o);
  const parsed = readConfigFile(file);
  return resolveConfig(parsed.value, { ...o, file, locate: parsed.locate });
}
