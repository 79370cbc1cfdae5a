import { createBundle } from './pipeline/src/bundle/index.ts';
import { flashFleet, formatFlashTable } from './pipeline/src/flash/index.ts';
const r = await createBundle({ device: 'rpi4-arm64', policyDir: '/tmp/bt/distilled', teacher: 'models/cartpole-v1/teacher.onnx', out: '/tmp/bt/out', budgetOverride: { controlPeriodUs: 50000, maxRssMiB: 2048 } });
console.log(r.path, r.bytes, r.artifacts.map(a => a.name + ':' + a.backend));
const dev = JSON.parse((await import('node:fs')).readFileSync('/tmp/helper8-dev.json', 'utf8'));
const t0 = Date.now();
const { results } = await flashFleet(r.path, [`ssh://${dev.ssh_host_alias}${dev.deploy_path}`], { configFile: dev.ssh_config_file, checkArgs: process.argv.slice(2), onProgress: (t, p, d) => console.error(`[${(Date.now()-t0)/1000}s] ${t.label} ${p} ${d}`) });
console.log(formatFlashTable(results));
console.log(JSON.stringify({ ...results[0], check: { ...results[0].check, report: undefined } }, null, 1));
