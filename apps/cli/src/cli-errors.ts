/**
 * Expected failures, each with the exit code the operator's scripts rely on:
 * 1 the operation failed (saga COMPENSATED/FAILED, not found, refused), 2 usage,
 * 3 connection or authentication. Anything else is a bug and exits 1 with its message.
 * None of them prints a stack trace.
 */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  connection: 3,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
    /** Extra lines under the message: field errors, hints. */
    readonly details: readonly string[] = [],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad arguments or input the server refused as invalid (HTTP 400): exit 2. */
export class UsageError extends CliError {
  constructor(message: string, details: readonly string[] = []) {
    super(message, ExitCode.usage, details);
  }
}

/** The admin API, the sites API or Kafka cannot be reached, or the token is refused: exit 3. */
export class ConnectionError extends CliError {
  constructor(message: string, details: readonly string[] = []) {
    super(message, ExitCode.connection, details);
  }
}

/** The admin API refused the token (401/403): exit 3, and no point retrying. */
export class AuthenticationRejected extends ConnectionError {}

/** The request was understood and refused (404, 409), or the saga did not complete: exit 1. */
export class OperationFailed extends CliError {
  constructor(message: string, details: readonly string[] = []) {
    super(message, ExitCode.failed, details);
  }
}

/** Ctrl-C during a long-running command: exit 130. */
export class Interrupted extends CliError {
  constructor(message = 'interrupted', details: readonly string[] = []) {
    super(message, ExitCode.interrupted, details);
  }
}

/** `{ field, message }` pairs, as both HTTP APIs and the contracts report them. */
export const fieldLines = (errors: readonly { field: string; message: string }[]): string[] =>
  errors.map((error) => `  ${error.field}: ${error.message}`);
