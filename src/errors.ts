/**
 * Every error ebb raises on purpose has a class here with a stable `code` and the exit code the
 * CLI uses for it. Anything else that reaches the top level is a bug and is reported as one.
 */

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  config: 64, // EX_USAGE from sysexits.h, as linkerd2-proxy uses for bad configuration
  unavailable: 69, // EX_UNAVAILABLE: `ebb await` timed out waiting for the proxy
} as const;

export class EbbError extends Error {
  readonly code: string;
  readonly exitCode: number;
  constructor(code: string, message: string, exitCode: number = EXIT.failure) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** Bad flags or arguments: exit 2. */
export class UsageError extends EbbError {
  constructor(message: string) {
    super('usage', message, EXIT.usage);
  }
}

/** One or more invalid configuration values; all of them are listed at once (exit 64). */
export class ConfigError extends EbbError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super('config_invalid', `invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
      problems.map((p) => `  - ${p}`).join('\n'), EXIT.config);
    this.problems = problems;
  }
}

/** Input that cannot be read or parsed (a file, a manifest): exit 1, with where it went wrong. */
export class InputError extends EbbError {
  constructor(message: string) {
    super('input_invalid', message, EXIT.failure);
  }
}

/** An AdmissionReview the webhook cannot read (bad JSON, wrong shape, no uid, too large): HTTP 400. */
export class AdmissionReviewError extends EbbError {
  readonly httpStatus = 400;
  /** Short stable reason for metrics and logs, e.g. `invalid_json`, `missing_uid`, `body_too_large`. */
  readonly reason: string;
  constructor(reason: string, message: string) {
    super('admission_review_invalid', message, EXIT.failure);
    this.reason = reason;
  }
}
