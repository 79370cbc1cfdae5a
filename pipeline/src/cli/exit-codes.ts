import type { ErrorCode } from '@edgedistill/runtime/errors';

/**
 * Exit codes, documented in the README:
 * 0 success; 1 a check ran and failed (parity, budgets, trajectory mismatch);
 * 2 bad input (arguments, config, model, trajectory file, tampered bundle); 3 device, I/O or runtime failure;
 * 130 interrupted.
 */
export const EXIT = { ok: 0, checkFailed: 1, badInput: 2, failure: 3, interrupted: 130 } as const;

/** The exit codes line of a command's --help (commands with their own verdicts say more). */
export const EXIT_HELP = 'Exit codes: 0 ok; 1 a check ran and failed; 2 bad input (arguments, files);\n3 runtime, device or I/O failure; 130 interrupted.';

export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'PARITY':
      return EXIT.checkFailed;
    case 'DEVICE':
    case 'RUNTIME':
    case 'IO':
      return EXIT.failure;
    default:
      return EXIT.badInput;
  }
}
