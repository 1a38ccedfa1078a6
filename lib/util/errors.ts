/**
 * Errors caused by what the user asked for (a bad path, a missing data package, an unknown
 * name). The CLI prints their message as one line and exits with `exitCode` (2 = usage).
 * The message always names the fix.
 */
export class UserInputError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
    this.name = "UserInputError";
  }
}

/** The run dir the current command works on, set by the commands as soon as it is known:
 * main() writes the full trace of an unexpected (internal) error to `<runDir>/error.log`. */
export const errorContext: { runDir?: string } = {};
