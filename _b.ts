import { createBundle } from './pipeline/src/bundle/index.ts';
const r = await createBundle({ device: 'rpi4-arm64', policyDir: '/tmp/bt/distilled', teacher: 'models/cartpole-v1/teacher.onnx', out: '/tmp/bt/cli', name: 'second', budgetOverride: { controlPeriodUs: 50000 } });
console.log(r.path);
