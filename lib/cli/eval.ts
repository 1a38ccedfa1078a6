/**
 * `deno task eval <run-dir>`: wired to lib/metrics once it lands.
 */
import { UsageError } from "./common.ts";

export function runEval(_runDir: string, _options: Record<string, unknown>): Promise<void> {
  return Promise.reject(new UsageError("eval is not available yet (metrics are being built)", 1));
}
