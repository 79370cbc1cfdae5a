/**
 * Without gcc the C artifact is written but reported "not run" (never "pass"). Its own file: the
 * gcc lookup is cached per process, and EDGEDISTILL_GCC must be set before the first one.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportPolicy } from '../../pipeline/src/export/index.js';
import { findGcc } from '../../pipeline/src/export/c/run.js';
import { STUDENT_DIR, tmp } from './helpers.js';

process.env.EDGEDISTILL_GCC = '/nonexistent/gcc';
const dir = tmp();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('c-int8 without gcc', () => {
  it('is written and reported "not run", with no measurements, and the export passes', async () => {
    expect(findGcc()).toBeNull();
    const m = await exportPolicy({ policyDir: STUDENT_DIR, formats: ['c-int8'], outDir: dir, tolerances: { minAgreement: 0.95 } });
    const c = m.artifacts[0];
    expect(c).toMatchObject({ format: 'c-int8', status: 'not run', runtime: null, maxAbsErrorVsIR: null, actionAgreementVsIR: null });
    expect(c.reasons[0]).toMatch(/gcc not found/);
    expect(m.passed).toBe(true);
    expect(existsSync(join(dir, 'policy.c')) && existsSync(join(dir, 'policy.h'))).toBe(true);
  });
});
