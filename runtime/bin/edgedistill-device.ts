#!/usr/bin/env node
/**
 * `edgedistill-device`: the device CLI's entry. Self-contained for esbuild (one .mjs per bundle;
 * onnxruntime-node, onnxruntime-web and @litertjs/core stay external and load only when an
 * artifact needs them). In the dev tree, run it through ./edgedistill-device.js.
 */
import { main } from '../src/check/cli.js';

process.on('SIGINT', () => process.exit(130));
process.exitCode = await main(process.argv.slice(2));
