import { flashFleet, formatFlashTable } from './pipeline/src/flash/index.ts';
const [bundle, target, cfg, bw] = process.argv.slice(2);
const { results } = await flashFleet(bundle, [target], { configFile: cfg, bwlimitKiB: bw ? Number(bw) : undefined, checkArgs: ['--calls', '300', '--max-seconds', '5'] });
console.log(formatFlashTable(results));
console.log(JSON.stringify(results.map(r => ({ ...r, check: { ...r.check, report: undefined } })), null, 1));
