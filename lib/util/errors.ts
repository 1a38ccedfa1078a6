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
