/**
 * Ansible inventories (INI and YAML) as flash targets. Supported: hosts, groups, `[g:children]`,
 * `[g:vars]`, YAML `all`/`children`/`hosts`/`vars`, numeric ranges (`pi[01:08]`), `host:port`,
 * inline host vars, and the variables flash uses: ansible_host, ansible_port, ansible_user,
 * ansible_ssh_private_key_file, ansible_ssh_common_args/ansible_ssh_extra_args (only
 * `-o UserKnownHostsFile=...` is read from them), edgedistill_device (profile id),
 * edgedistill_path (deploy directory), edgedistill_node (node on the device),
 * edgedistill_known_hosts. Variable precedence as Ansible's: `all` < parent groups < child groups
 * (by depth, then name) < host vars. `--limit` takes Ansible's simple patterns: names, globs,
 * `a,b` or `a:b` unions, `&g` intersections, `!g` exclusions.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode, type Pair, type YAMLMap } from 'yaml';
import { SAFE_PATH, type SshTarget } from '../flash/target.js';

export interface InventoryVar {
  readonly value: string;
  /** 1-based line where it was set. */
  readonly line: number;
}

export interface InventoryGroup {
  readonly name: string;
  readonly hosts: Set<string>;
  readonly children: Set<string>;
  readonly vars: Map<string, InventoryVar>;
  readonly line: number;
}

export interface InventoryHost {
  /** Inventory name (also the label in tables, logs and report directories). */
  readonly name: string;
  /** Resolved variables (group vars by precedence, then host vars). */
  readonly vars: ReadonlyMap<string, InventoryVar>;
  /** Every group the host is in, ancestors included (`all` too). */
  readonly groups: readonly string[];
  readonly line: number;
  readonly host: string;
  readonly port: number | null;
  readonly user: string | null;
  readonly identity: string | null;
  readonly knownHosts: string | null;
  /** edgedistill_device: device profile id. */
  readonly device: string | null;
  readonly path: string | null;
  readonly node: string | null;
}

export interface Inventory {
  readonly file: string;
  readonly format: 'ini' | 'yaml';
  /** In the order they first appear in the file. */
  readonly hosts: readonly InventoryHost[];
  readonly groups: ReadonlyMap<string, InventoryGroup>;
}

const bad = (file: string, line: number | null, message: string, field?: string, suggestion?: string) =>
  new EdgeDistillError('BAD_CONFIG', `${line ? `line ${line}: ` : ''}${message}`, { file: line ? `${file}:${line}` : file, field, suggestion });

/** Mutable state both parsers fill in. */
class Builder {
  readonly groups = new Map<string, InventoryGroup>();
  readonly hostOrder: string[] = [];
  readonly hostVars = new Map<string, Map<string, InventoryVar>>();
  readonly hostLine = new Map<string, number>();
  constructor(readonly file: string) {
    this.group('all', 0);
    this.group('ungrouped', 0);
  }
  group(name: string, line: number): InventoryGroup {
    let g = this.groups.get(name);
    if (!g) {
      if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw bad(this.file, line, `bad group name '${name}' (letters, digits, _ . -)`, name);
      g = { name, hosts: new Set(), children: new Set(), vars: new Map(), line };
      this.groups.set(name, g);
    }
    return g;
  }
  host(name: string, group: string, line: number, vars: Map<string, InventoryVar>): void {
    if (!/^[A-Za-z0-9_.:@%-]+$/.test(name)) throw bad(this.file, line, `bad host name '${name}'`, name);
    if (this.groups.has(name) && name !== 'all' && this.groups.get(name)!.hosts.size + this.groups.get(name)!.children.size > 0) {
      // Ansible allows it, but --limit could not tell them apart.
      throw bad(this.file, line, `'${name}' is both a host and a group`, name);
    }
    if (!this.hostVars.has(name)) {
      this.hostOrder.push(name);
      this.hostVars.set(name, new Map());
      this.hostLine.set(name, line);
    }
    const hv = this.hostVars.get(name)!;
    for (const [k, v] of vars) hv.set(k, v);
    this.group(group, line).hosts.add(name);
  }
}

/** `pi[01:03]` -> pi01 pi02 pi03; `n[a:c]` -> na nb nc; one range per name is enough here. */
export function expandHostPattern(name: string): string[] {
  const m = /^(.*)\[([0-9a-z]+):([0-9a-z]+)(?::(\d+))?\](.*)$/.exec(name);
  if (!m) return [name];
  const [, pre, a, b, stepText, post] = m;
  const step = stepText ? Number(stepText) : 1;
  const out: string[] = [];
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) {
    const width = a.length;
    for (let i = Number(a); i <= Number(b); i += step) out.push(`${pre}${String(i).padStart(width, '0')}${post}`);
  } else if (/^[a-z]$/.test(a) && /^[a-z]$/.test(b)) {
    for (let c = a.charCodeAt(0); c <= b.charCodeAt(0); c += step) out.push(`${pre}${String.fromCharCode(c)}${post}`);
  } else return [name];
  return out.flatMap(expandHostPattern);
}

/** shlex-like split: quotes, backslashes, and `#` comments after whitespace. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let have = false;
  let q: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q) {
      if (c === q) q = null;
      else if (c === '\\' && q === '"' && i + 1 < line.length) cur += line[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      q = c;
      have = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      have = true;
    } else if (/\s/.test(c)) {
      if (have) words.push(cur);
      cur = '';
      have = false;
    } else if (c === '#' && !have) break;
    else {
      cur += c;
      have = true;
    }
  }
  if (q) throw new Error(`unterminated ${q} quote`);
  if (have) words.push(cur);
  return words;
}

function unquote(v: string): string {
  const t = v.trim();
  if (t.length >= 2 && (t[0] === '"' || t[0] === "'") && t.at(-1) === t[0]) return t.slice(1, -1);
  return t.replace(/\s+[#;].*$/, '');
}

export function parseIniInventory(text: string, file: string): Builder {
  const b = new Builder(file);
  let section = 'ungrouped';
  let kind: 'hosts' | 'vars' | 'children' = 'hosts';
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const n = i + 1;
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const sec = /^\[([^\]]*)\]\s*(?:[#;].*)?$/.exec(line);
    if (sec) {
      const [name, suffix, ...rest] = sec[1].split(':');
      if (rest.length > 0 || !name) throw bad(file, n, `bad section header '[${sec[1]}]'`, sec[1], 'use [group], [group:vars] or [group:children]');
      if (suffix !== undefined && suffix !== 'vars' && suffix !== 'children') {
        throw bad(file, n, `unknown section kind ':${suffix}' in '[${sec[1]}]'`, sec[1], 'use [group], [group:vars] or [group:children]');
      }
      section = name;
      kind = (suffix as 'vars' | 'children' | undefined) ?? 'hosts';
      b.group(section, n);
      return;
    }
    if (line.startsWith('[')) throw bad(file, n, `bad section header '${line}'`, undefined, 'use [group], [group:vars] or [group:children]');
    if (kind === 'vars') {
      const m = /^([^=\s]+)\s*=\s*(.*)$/.exec(line);
      if (!m) throw bad(file, n, `expected key=value in [${section}:vars], got '${line}'`, section);
      checkVarName(file, n, m[1]);
      b.group(section, n).vars.set(m[1], { value: unquote(m[2]), line: n });
      return;
    }
    if (kind === 'children') {
      const child = splitWords(line)[0] ?? '';
      if (child === section) throw bad(file, n, `group '${section}' cannot be its own child`, section);
      b.group(section, n).children.add(child);
      b.group(child, n);
      return;
    }
    let words: string[];
    try {
      words = splitWords(line);
    } catch (e) {
      throw bad(file, n, (e as Error).message);
    }
    const [first, ...kvs] = words;
    const vars = new Map<string, InventoryVar>();
    for (const kv of kvs) {
      const eq = kv.indexOf('=');
      if (eq <= 0) throw bad(file, n, `expected key=value after host '${first}', got '${kv}'`, kv, 'host vars are written host key=value key2=value2');
      checkVarName(file, n, kv.slice(0, eq));
      vars.set(kv.slice(0, eq), { value: kv.slice(eq + 1), line: n });
    }
    let name = first;
    // host:port (not an IPv6 address)
    const hp = /^([^:[\]]+):(\d+)$/.exec(first);
    if (hp) {
      name = hp[1];
      if (!vars.has('ansible_port')) vars.set('ansible_port', { value: hp[2], line: n });
    }
    for (const h of expandHostPattern(name)) b.host(h, section, n, vars);
  });
  return b;
}

function checkVarName(file: string, line: number, k: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw bad(file, line, `bad variable name '${k}'`, k);
}

export function parseYamlInventory(text: string, file: string): Builder {
  const b = new Builder(file);
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  const lineOf = (n: { range?: [number, number, number] | null } | null | undefined) => (n?.range ? lc.linePos(n.range[0]).line : 0);
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    throw bad(file, e.linePos?.[0]?.line ?? null, `not valid YAML: ${e.message.split('\n')[0]}`);
  }
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) return b;
  if (!isMap(root)) throw bad(file, lineOf(root as YamlNode), 'the top level must be a mapping of groups (all: {children: ..., hosts: ...})');
  const scalarText = (node: unknown, what: string): string => {
    if (isScalar(node) && (typeof node.value === 'string' || typeof node.value === 'number' || typeof node.value === 'boolean')) return String(node.value);
    throw bad(file, lineOf(node as YamlNode), `${what} must be a string or number`, what);
  };
  const readVars = (node: unknown, what: string): Map<string, InventoryVar> => {
    const out = new Map<string, InventoryVar>();
    if (node === null || node === undefined || (isScalar(node) && node.value === null)) return out;
    if (!isMap(node)) throw bad(file, lineOf(node as YamlNode), `${what} must be a mapping`, what);
    for (const p of (node as YAMLMap).items as Pair[]) {
      const k = scalarText(p.key, `${what} key`);
      checkVarName(file, lineOf(p.key as YamlNode), k);
      // Lists and maps are kept as JSON text (flash reads only scalar variables).
      const v = isScalar(p.value) ? String(p.value.value ?? '') : JSON.stringify((p.value as { toJSON(): unknown } | null)?.toJSON?.() ?? null);
      out.set(k, { value: v, line: lineOf((p.value as YamlNode) ?? (p.key as YamlNode)) });
    }
    return out;
  };
  const readGroup = (name: string, node: unknown, line: number, depth: number): void => {
    if (depth > 50) throw bad(file, line, `groups nested too deep at '${name}'`, name);
    const g = b.group(name, line);
    if (node === null || node === undefined || (isScalar(node) && node.value === null)) return;
    if (!isMap(node)) throw bad(file, lineOf(node as YamlNode), `group '${name}' must be a mapping with hosts, children or vars`, name);
    for (const p of (node as YAMLMap).items as Pair[]) {
      const key = scalarText(p.key, `group '${name}' key`);
      const kl = lineOf(p.key as YamlNode);
      if (key === 'vars') for (const [k, v] of readVars(p.value, `${name}.vars`)) g.vars.set(k, v);
      else if (key === 'hosts') {
        const hs = p.value;
        if (hs === null || (isScalar(hs) && hs.value === null)) continue;
        if (!isMap(hs)) throw bad(file, lineOf(hs as YamlNode), `${name}.hosts must be a mapping of host names (each with its vars or empty)`, `${name}.hosts`);
        for (const hp of (hs as YAMLMap).items as Pair[]) {
          const hn = scalarText(hp.key, `${name}.hosts key`);
          const hl = lineOf(hp.key as YamlNode);
          const vars = readVars(hp.value, `${name}.hosts.${hn}`);
          for (const h of expandHostPattern(hn)) b.host(h, name, hl, vars);
        }
      } else if (key === 'children') {
        const cs = p.value;
        if (cs === null || (isScalar(cs) && cs.value === null)) continue;
        if (!isMap(cs)) throw bad(file, lineOf(cs as YamlNode), `${name}.children must be a mapping of group names`, `${name}.children`);
        for (const cp of (cs as YAMLMap).items as Pair[]) {
          const cn = scalarText(cp.key, `${name}.children key`);
          if (cn === name) throw bad(file, lineOf(cp.key as YamlNode), `group '${name}' cannot be its own child`, name);
          g.children.add(cn);
          readGroup(cn, cp.value, lineOf(cp.key as YamlNode), depth + 1);
        }
      } else throw bad(file, kl, `unknown key '${key}' in group '${name}'`, `${name}.${key}`, 'a group holds hosts, children and vars');
    }
  };
  for (const p of (root as YAMLMap).items as Pair[]) {
    const name = scalarText(p.key, 'group name');
    readGroup(name, p.value, lineOf(p.key as YamlNode), 0);
  }
  return b;
}

/** Reads an inventory file; the format is told by the extension (.yml/.yaml/.json) or the content. */
export function loadInventory(pathArg: string): Inventory {
  const file = resolve(pathArg);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new EdgeDistillError('IO', `cannot read inventory: ${(e as Error).message}`, { file, field: '--inventory' });
  }
  return parseInventory(text, file);
}

export function parseInventory(text: string, file: string): Inventory {
  const yamlLike = /\.(ya?ml|json)$/i.test(file) || (!/^\s*\[/m.test(text) && /^[A-Za-z0-9_.-]+:\s*$/m.test(text));
  const b = yamlLike ? parseYamlInventory(text, file) : parseIniInventory(text, file);
  return finish(b, yamlLike ? 'yaml' : 'ini');
}

function finish(b: Builder, format: 'ini' | 'yaml'): Inventory {
  const { file, groups } = b;
  const all = groups.get('all')!;
  // every top-level group is a child of all; hosts in no group but all/ungrouped go to ungrouped
  const isChild = new Set<string>();
  for (const g of groups.values()) for (const c of g.children) isChild.add(c);
  for (const g of groups.values()) if (g.name !== 'all' && !isChild.has(g.name)) all.children.add(g.name);
  // cycles and parents
  const parents = new Map<string, Set<string>>();
  for (const g of groups.values()) for (const c of g.children) (parents.get(c) ?? parents.set(c, new Set()).get(c)!).add(g.name);
  const depth = new Map<string, number>();
  const depthOf = (name: string, seen: string[]): number => {
    if (depth.has(name)) return depth.get(name)!;
    if (seen.includes(name)) throw bad(file, groups.get(name)?.line ?? null, `groups form a cycle: ${[...seen, name].join(' -> ')}`, name);
    const ps = [...(parents.get(name) ?? [])];
    const d = name === 'all' ? 0 : ps.length === 0 ? 1 : 1 + Math.max(...ps.map((p) => depthOf(p, [...seen, name])));
    depth.set(name, d);
    return d;
  };
  for (const g of groups.keys()) depthOf(g, []);
  const ancestors = (name: string, acc: Set<string>): Set<string> => {
    if (acc.has(name)) return acc;
    acc.add(name);
    for (const p of parents.get(name) ?? []) ancestors(p, acc);
    return acc;
  };
  const hosts: InventoryHost[] = [];
  for (const name of b.hostOrder) {
    let direct = [...groups.values()].filter((g) => g.hosts.has(name)).map((g) => g.name);
    // as Ansible: a host in no group but all is in ungrouped
    if (direct.some((g) => g !== 'ungrouped' && g !== 'all')) groups.get('ungrouped')!.hosts.delete(name);
    else {
      groups.get('ungrouped')!.hosts.add(name);
      direct = [...new Set([...direct, 'ungrouped'])];
    }
    const inGroups = new Set<string>(['all']);
    for (const g of direct) ancestors(g, inGroups);
    const order = [...inGroups].sort((x, y) => depth.get(x)! - depth.get(y)! || x.localeCompare(y));
    const vars = new Map<string, InventoryVar>();
    for (const g of order) for (const [k, v] of groups.get(g)!.vars) vars.set(k, v);
    for (const [k, v] of b.hostVars.get(name)!) vars.set(k, v);
    hosts.push(resolveHost(file, name, b.hostLine.get(name)!, vars, order));
  }
  return { file, format, hosts, groups };
}

function resolveHost(file: string, name: string, line: number, vars: Map<string, InventoryVar>, groups: string[]): InventoryHost {
  const get = (k: string) => vars.get(k);
  const str = (k: string): string | null => {
    const v = get(k);
    return v === undefined || v.value === '' ? null : v.value;
  };
  const host = str('ansible_host') ?? str('ansible_ssh_host') ?? name;
  if (!/^[A-Za-z0-9._:%-]+$/.test(host)) throw bad(file, get('ansible_host')?.line ?? line, `host ${name}: ansible_host '${host}' has characters ssh would not accept`, 'ansible_host');
  let port: number | null = null;
  const pv = get('ansible_port') ?? get('ansible_ssh_port');
  if (pv) {
    port = Number(pv.value);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(file, pv.line, `host ${name}: ansible_port '${pv.value}' is not a port number (1-65535)`, 'ansible_port');
  }
  const user = str('ansible_user') ?? str('ansible_ssh_user');
  if (user !== null && !/^[A-Za-z0-9._-]+$/.test(user)) throw bad(file, get('ansible_user')?.line ?? line, `host ${name}: ansible_user '${user}' has unexpected characters`, 'ansible_user');
  const identity = str('ansible_ssh_private_key_file') ?? str('ansible_private_key_file');
  let knownHosts = str('edgedistill_known_hosts');
  if (!knownHosts) {
    for (const k of ['ansible_ssh_common_args', 'ansible_ssh_extra_args']) {
      const m = /UserKnownHostsFile[= ]\s*("[^"]+"|'[^']+'|\S+)/.exec(str(k) ?? '');
      if (m) knownHosts = m[1].replace(/^["']|["']$/g, '');
    }
  }
  const device = str('edgedistill_device');
  if (device !== null && !/^[A-Za-z0-9._/-]+$/.test(device)) throw bad(file, get('edgedistill_device')!.line, `host ${name}: edgedistill_device '${device}' is not a profile id`, 'edgedistill_device');
  const path = str('edgedistill_path');
  if (path !== null && !SAFE_PATH.test(path)) {
    throw bad(file, get('edgedistill_path')!.line, `host ${name}: edgedistill_path '${path}' must be absolute and use only letters, digits and . _ / + @ -`, 'edgedistill_path');
  }
  const node = str('edgedistill_node');
  if (node !== null && !SAFE_PATH.test(node)) {
    throw bad(file, get('edgedistill_node')!.line, `host ${name}: edgedistill_node '${node}' must be absolute and use only letters, digits and . _ / + @ -`, 'edgedistill_node');
  }
  return { name, vars, groups, line, host, port, user, identity, knownHosts, device, path, node };
}

const globRe = (p: string) => new RegExp(`^${p.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);

/** Hosts matched by one pattern (a host, a group, `all`, or a glob over both). */
function matchOne(inv: Inventory, pat: string): Set<string> {
  const out = new Set<string>();
  const add = (g: string) => {
    for (const h of inv.hosts) if (h.groups.includes(g)) out.add(h.name);
  };
  if (pat === 'all' || pat === '*') for (const h of inv.hosts) out.add(h.name);
  else if (/[*?]/.test(pat)) {
    const re = globRe(pat);
    for (const h of inv.hosts) if (re.test(h.name)) out.add(h.name);
    for (const g of inv.groups.keys()) if (re.test(g)) add(g);
  } else if (inv.groups.has(pat)) add(pat);
  else if (inv.hosts.some((h) => h.name === pat)) out.add(pat);
  return out;
}

/** Applies `--limit` (Ansible's simple patterns); no limit: every host. Keeps inventory order. */
export function limitHosts(inv: Inventory, limit?: string | null): InventoryHost[] {
  if (!limit || !limit.trim()) return [...inv.hosts];
  const parts = limit.split(/[,:]/).map((s) => s.trim()).filter(Boolean);
  const plus = parts.filter((p) => !p.startsWith('!') && !p.startsWith('&'));
  let chosen = new Set<string>();
  for (const p of plus.length ? plus : ['all']) {
    const m = matchOne(inv, p);
    if (m.size === 0) {
      throw new EdgeDistillError('BAD_ARGUMENT', `--limit '${p}' matches no host or group in ${inv.file}`, {
        field: '--limit',
        suggestion: `groups: ${[...inv.groups.keys()].join(', ')}`,
      });
    }
    for (const h of m) chosen.add(h);
  }
  for (const p of parts.filter((x) => x.startsWith('&'))) {
    const m = matchOne(inv, p.slice(1));
    chosen = new Set([...chosen].filter((h) => m.has(h)));
  }
  for (const p of parts.filter((x) => x.startsWith('!'))) for (const h of matchOne(inv, p.slice(1))) chosen.delete(h);
  if (chosen.size === 0) throw new EdgeDistillError('BAD_ARGUMENT', `--limit '${limit}' leaves no host`, { field: '--limit' });
  return inv.hosts.filter((h) => chosen.has(h.name));
}

/** The flash target of an inventory host (the inventory name is the label). */
export function hostTarget(h: InventoryHost): SshTarget {
  const hostPart = h.host.includes(':') ? `[${h.host}]` : h.host;
  const raw = `ssh://${h.user ? `${h.user}@` : ''}${hostPart}${h.port ? `:${h.port}` : ''}${h.path ?? ''}${h.node ? `?node=${h.node}` : ''}`;
  return { kind: 'ssh', raw, label: h.name, user: h.user, host: h.host, port: h.port, path: h.path, node: h.node };
}

/** Distinct device profiles named by the hosts (inventory order). */
export function inventoryProfiles(hosts: readonly InventoryHost[]): string[] {
  return [...new Set(hosts.map((h) => h.device).filter((d): d is string => d !== null))];
}
