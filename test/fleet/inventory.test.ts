/** Ansible inventories (INI and YAML) as flash targets: groups, children, vars, precedence, --limit, errors with file and line. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EdgeDistillError } from '../../runtime/src/errors.js';
import { expandHostPattern, hostTarget, inventoryProfiles, limitHosts, loadInventory, parseInventory, splitWords } from '../../pipeline/src/fleet/inventory.js';

const work = mkdtempSync(join(tmpdir(), 'inventory-'));
const write = (name: string, text: string) => {
  const p = join(work, name);
  writeFileSync(p, text);
  return p;
};

const INI = `# lab fleet
gateway ansible_host=10.0.0.1

[arm64]
pi1 ansible_host=192.168.1.11 ansible_port=2222 ansible_user=pi
pi2 ansible_host=192.168.1.12 edgedistill_path=/opt/edgedistill   # inline comment
pi[03:04] ansible_user=robot

[armv7]
zero1:2201 ansible_host=192.168.1.21 ansible_ssh_private_key_file=/keys/zero "ansible_ssh_common_args=-o UserKnownHostsFile=/keys/kh"

[arm64:vars]
edgedistill_device=rpi4-arm64
ansible_user=pi

[armv7:vars]
edgedistill_device = rpi-zero2w-armv7
edgedistill_node="/usr/local/bin/node"

[lab:children]
arm64
armv7

[lab:vars]
edgedistill_device=should-be-overridden
edgedistill_path=/home/pi/edgedistill

[all:vars]
ansible_user=root
`;

const YAML = `all:
  vars:
    ansible_user: root
  children:
    lab:
      vars:
        edgedistill_path: /home/pi/edgedistill
        edgedistill_device: should-be-overridden
      children:
        arm64:
          vars:
            edgedistill_device: rpi4-arm64
            ansible_user: pi
          hosts:
            pi1: { ansible_host: 192.168.1.11, ansible_port: 2222 }
            pi2:
              ansible_host: 192.168.1.12
              edgedistill_path: /opt/edgedistill
            pi[03:04]:
              ansible_user: robot
        armv7:
          vars:
            edgedistill_device: rpi-zero2w-armv7
            edgedistill_node: /usr/local/bin/node
          hosts:
            zero1:
              ansible_host: 192.168.1.21
              ansible_port: 2201
              ansible_ssh_private_key_file: /keys/zero
              ansible_ssh_common_args: -o UserKnownHostsFile=/keys/kh
  hosts:
    gateway:
      ansible_host: 10.0.0.1
`;

describe.each([
  ['hosts.ini', INI],
  ['hosts.yml', YAML],
])('inventory %s', (name, text) => {
  const inv = loadInventory(write(name, text));
  const host = (n: string) => inv.hosts.find((h) => h.name === n)!;

  it('reads every host, expanding ranges, with host, port and user', () => {
    expect(inv.format).toBe(name.endsWith('.ini') ? 'ini' : 'yaml');
    expect(inv.hosts.map((h) => h.name).sort()).toEqual(['gateway', 'pi03', 'pi04', 'pi1', 'pi2', 'zero1']);
    expect(host('pi1')).toMatchObject({ host: '192.168.1.11', port: 2222, user: 'pi', device: 'rpi4-arm64', path: '/home/pi/edgedistill' });
    expect(host('zero1')).toMatchObject({ host: '192.168.1.21', port: 2201, identity: '/keys/zero', knownHosts: '/keys/kh', device: 'rpi-zero2w-armv7', node: '/usr/local/bin/node' });
    expect(host('gateway')).toMatchObject({ host: '10.0.0.1', port: null, user: 'root', device: null });
  });

  it('applies precedence: all < parent group < child group < host', () => {
    expect(host('pi2').path).toBe('/opt/edgedistill'); // host var beats lab:vars
    expect(host('pi03').user).toBe('robot'); // host var beats arm64:vars
    expect(host('pi03').device).toBe('rpi4-arm64'); // child group beats parent lab
    expect(host('pi1').groups).toEqual(expect.arrayContaining(['all', 'lab', 'arm64']));
    expect(host('gateway').groups).toContain('ungrouped');
  });

  it('limits by group, host, union, intersection, exclusion and glob', () => {
    const names = (l: string) => limitHosts(inv, l).map((h) => h.name);
    expect(names('armv7')).toEqual(['zero1']);
    expect(names('lab')).toHaveLength(5);
    expect(names('arm64,gateway').sort()).toEqual(['gateway', 'pi03', 'pi04', 'pi1', 'pi2']);
    expect(names('lab,!arm64')).toEqual(['zero1']);
    expect(names('lab:&armv7')).toEqual(['zero1']);
    expect(names('pi0*')).toEqual(['pi03', 'pi04']);
    expect(limitHosts(inv)).toHaveLength(6);
    expect(() => limitHosts(inv, 'nosuch')).toThrow(/--limit 'nosuch' matches no host or group/);
  });

  it('names each distinct profile once (one bundle per profile)', () => {
    expect(inventoryProfiles(limitHosts(inv, 'lab')).sort()).toEqual(['rpi-zero2w-armv7', 'rpi4-arm64']);
  });

  it('makes ssh targets labelled with the inventory name', () => {
    expect(hostTarget(host('pi1'))).toMatchObject({ kind: 'ssh', label: 'pi1', host: '192.168.1.11', port: 2222, user: 'pi', path: '/home/pi/edgedistill' });
    expect(hostTarget(host('zero1')).raw).toBe('ssh://root@192.168.1.21:2201/home/pi/edgedistill?node=/usr/local/bin/node');
  });
});

describe('inventory errors name the file, line and key', () => {
  const err = (name: string, text: string): EdgeDistillError => {
    try {
      loadInventory(write(name, text));
    } catch (e) {
      return e as EdgeDistillError;
    }
    throw new Error('no error');
  };
  it('a bad port in INI', () => {
    const e = err('bad-port.ini', '[pis]\npi1 ansible_port=22x\n');
    expect(e).toBeInstanceOf(EdgeDistillError);
    expect(e.file).toBe(join(work, 'bad-port.ini:2'));
    expect(e.field).toBe('ansible_port');
    expect(e.message).toMatch(/line 2: host pi1: ansible_port '22x'/);
  });
  it('a bad port set in a YAML group', () => {
    const e = err('bad-port.yml', 'all:\n  vars:\n    ansible_port: 70000\n  hosts:\n    pi1:\n');
    expect(e.file).toBe(join(work, 'bad-port.yml:3'));
    expect(e.field).toBe('ansible_port');
  });
  it('a host var without =', () => {
    expect(err('novalue.ini', '[a]\n\npi1 ansible_user\n').message).toMatch(/line 3: expected key=value after host 'pi1', got 'ansible_user'/);
  });
  it('an unknown section kind and an unknown YAML key', () => {
    expect(err('sect.ini', '[a:hosts]\n').message).toMatch(/line 1: unknown section kind ':hosts'/);
    const e = err('key.yml', 'all:\n  children:\n    pis:\n      host:\n        pi1:\n');
    expect(e.message).toMatch(/line 4: unknown key 'host' in group 'pis'/);
    expect(e.field).toBe('pis.host');
  });
  it('a group cycle, invalid YAML and a bad deploy path', () => {
    expect(err('cycle.ini', '[a:children]\nb\n[b:children]\na\n').message).toMatch(/cycle/);
    expect(err('broken.yml', 'all:\n  hosts: [\n').message).toMatch(/not valid YAML/);
    const e = err('path.ini', '[a]\npi1 edgedistill_path=relative/dir\n');
    expect(e.field).toBe('edgedistill_path');
    expect(e.file).toBe(join(work, 'path.ini:2'));
  });
  it('a missing file is an IO error naming it', () => {
    expect(() => loadInventory(join(work, 'nope.ini'))).toThrow(/cannot read inventory/);
  });
});

describe('helpers', () => {
  it('expands ranges and splits words like shlex', () => {
    expect(expandHostPattern('pi[1:3]')).toEqual(['pi1', 'pi2', 'pi3']);
    expect(expandHostPattern('pi[08:10]')).toEqual(['pi08', 'pi09', 'pi10']);
    expect(expandHostPattern('n[a:c].lab')).toEqual(['na.lab', 'nb.lab', 'nc.lab']);
    expect(splitWords(`h a=1 "b=two words" c='x y' # note`)).toEqual(['h', 'a=1', 'b=two words', 'c=x y']);
  });
  it('parses an inventory from text; an empty YAML inventory has no hosts', () => {
    expect(parseInventory('pi1\npi2\n', '/x/hosts').hosts.map((h) => h.name)).toEqual(['pi1', 'pi2']);
    expect(parseInventory('', '/x/hosts.yml').hosts).toEqual([]);
  });
});
