#!/usr/bin/env node
// Dev tree only: runs the TypeScript entry through tsx's loader (devices run the esbuild bundle).
import { register } from 'tsx/esm/api';

register();
await import('./edgedistill-device.ts');
