/**
 * One error class for the whole project (runtime and pipeline), modelled on esbuild's located
 * messages: every failure says which file and which field or tensor it is about, and how to fix it
 * where we know. The CLI prints `code`, `file`, `field` and the message, then exits non-zero.
 */
export type ErrorCode =
  | 'BAD_ARGUMENT' // a CLI flag or API argument is wrong
  | 'BAD_CONFIG' // a JSON/YAML config or device profile does not match its schema
  | 'BAD_MODEL' // a model file cannot be read or makes no sense
  | 'UNSUPPORTED' // valid input we cannot handle (op not importable, backend unavailable, ...)
  | 'BAD_OBSERVATION' // wrong length, NaN or Inf at run time
  | 'BAD_ACTION' // action outside the action space or NaN
  | 'ENV_STATE' // env used out of order (step after done, step before reset)
  | 'UNKNOWN_ENV'
  | 'BAD_TRAJECTORY'
  | 'PARITY' // an artifact does not match the model it came from
  | 'CHECKSUM' // a bundle file does not match its manifest
  | 'DEVICE' // a device is unreachable or refused an operation
  | 'RUNTIME' // a backend failed while running (e.g. LiteRT returned garbage)
  | 'IO';

export interface ErrorLocation {
  /** File the problem is in, when there is one. */
  file?: string;
  /** Field path (`budgets.p99LatencyUs`), tensor or node name (`layers.0.weight`). */
  field?: string;
}

export interface ErrorDetail extends ErrorLocation {
  text: string;
  suggestion?: string;
}

export class EdgeDistillError extends Error {
  readonly code: ErrorCode;
  readonly file: string | undefined;
  readonly field: string | undefined;
  readonly suggestion: string | undefined;
  /** Further located messages (e.g. every schema violation, not only the first). */
  readonly details: ErrorDetail[];

  constructor(
    code: ErrorCode,
    message: string,
    opts: ErrorLocation & { suggestion?: string; details?: ErrorDetail[]; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'EdgeDistillError';
    this.code = code;
    this.file = opts.file;
    this.field = opts.field;
    this.suggestion = opts.suggestion;
    this.details = opts.details ?? [];
  }

  /** One-line-per-message human form, as the CLI prints it (up to five details, then "..."). */
  format(): string {
    const where = [this.file, this.field].filter(Boolean).join(': ');
    const lines = [`error[${this.code}]${where ? ` ${where}:` : ''} ${this.message}`];
    for (const d of this.details.slice(0, 5)) {
      const w = [d.file, d.field].filter(Boolean).join(': ');
      lines.push(`  - ${w ? `${w}: ` : ''}${d.text}${d.suggestion ? ` (${d.suggestion})` : ''}`);
    }
    if (this.details.length > 5) lines.push(`  ... and ${this.details.length - 5} more`);
    if (this.suggestion) lines.push(`  hint: ${this.suggestion}`);
    return lines.join('\n');
  }

  toJSON(): Record<string, unknown> {
    return {
      error: this.code,
      message: this.message,
      file: this.file,
      field: this.field,
      suggestion: this.suggestion,
      details: this.details,
    };
  }
}

export function isEdgeDistillError(e: unknown): e is EdgeDistillError {
  return e instanceof EdgeDistillError;
}
