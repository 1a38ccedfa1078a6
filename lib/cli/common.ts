/**
 * Shared CLI plumbing: one-line errors with exit code 2 for bad input, numeric option parsers.
 */
import { InvalidArgumentError } from "commander";
import { BACKEND_NAMES, type BackendName, isBackendName } from "../backend/mod.ts";
import { UserInputError } from "../util/errors.ts";

export { UserInputError as UsageError } from "../util/errors.ts";

export function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) {
      throw new InvalidArgumentError(`${name} must be a positive integer, got '${value}'`);
    }
    return n;
  };
}

export function nonNegativeInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) {
      throw new InvalidArgumentError(`${name} must be an integer ≥ 0, got '${value}'`);
    }
    return n;
  };
}

export function positiveNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) {
      throw new InvalidArgumentError(`${name} must be a positive number, got '${value}'`);
    }
    return n;
  };
}

export function backendName(value: string): BackendName {
  if (!isBackendName(value)) {
    throw new InvalidArgumentError(
      `unknown backend '${value}': use one of ${BACKEND_NAMES.join(", ")}`,
    );
  }
  return value;
}

/** `--set key=value` (repeatable) → model config overrides; values parsed as JSON when possible. */
export function collectSetting(
  value: string,
  previous: Record<string, unknown> = {},
): Record<string, unknown> {
  const eq = value.indexOf("=");
  if (eq < 1) throw new InvalidArgumentError(`--set expects key=value, got '${value}'`);
  const key = value.slice(0, eq);
  const raw = value.slice(eq + 1);
  let parsed: unknown = raw;
  try {
    parsed = JSON.parse(raw);
  } catch {
    // keep the string
  }
  return { ...previous, [key]: parsed };
}

/** Run an experiment script's `main(Deno.args)`: bad input (a UserInputError) is its one-line
 * message and its exit code; commander has already printed its own errors and --help, so only its
 * exit code remains; anything else is a bug and keeps its stack trace. */
export async function runScript(main: (args: string[]) => Promise<void>): Promise<void> {
  try {
    await main(Deno.args);
  } catch (e) {
    if (e instanceof UserInputError) {
      console.error(e.message);
      Deno.exit(e.exitCode);
    }
    if ((e as { code?: string }).code?.startsWith("commander.")) {
      Deno.exit((e as { exitCode?: number }).exitCode ?? 1);
    }
    throw e;
  }
}
