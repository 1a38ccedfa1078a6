/**
 * One writer per run dir: `train` holds `<run-dir>/train.lock` (pid, host, start time) while it
 * runs. The lock is created atomically — written to a temp file, then hard-linked into place,
 * which fails if the lock exists — so two trainers can never both believe they hold it. A second
 * trainer refuses in one line naming the holder; a lock whose process is gone (same host) is
 * taken over with a warning. `sample`, `eval` and `verify` only read and never take it.
 */
import { UserInputError } from "../util/errors.ts";

export const LOCK_FILE = "train.lock";

export interface LockHolder {
  pid: number;
  host: string;
  started: string;
}

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown-host";
  }
}

/** Is process `pid` on this host still running? (Linux: /proc; elsewhere `kill -0`.) */
function processAlive(pid: number): boolean {
  if (pid === Deno.pid) return true;
  if (Deno.build.os === "linux") {
    try {
      Deno.statSync(`/proc/${pid}`);
      return true;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return false;
      return true;
    }
  }
  try {
    return new Deno.Command("kill", { args: ["-0", String(pid)], stderr: "null" }).outputSync()
      .success;
  } catch {
    return true; // cannot tell: assume it runs (refusing is the safe side)
  }
}

export class RunLock {
  #released = false;
  readonly #onUnload = () => this.release();

  private constructor(readonly path: string, readonly holder: LockHolder) {
    globalThis.addEventListener("unload", this.#onUnload);
  }

  /** Take the lock of run dir `root` (which must exist), or throw a one-line UserInputError. */
  static async acquire(root: string): Promise<RunLock> {
    const path = `${root}/${LOCK_FILE}`;
    const me: LockHolder = { pid: Deno.pid, host: hostname(), started: new Date().toISOString() };
    for (let attempt = 0; attempt < 3; attempt++) {
      const tmp = `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
      await Deno.writeTextFile(tmp, JSON.stringify(me) + "\n");
      try {
        await Deno.link(tmp, path).catch(async (error) => {
          if (error instanceof Deno.errors.AlreadyExists) throw error;
          // No hard links on this filesystem: create-exclusive, then write (not one step, but
          // still only one process can create the file).
          const file = await Deno.open(path, { createNew: true, write: true });
          await file.write(new TextEncoder().encode(JSON.stringify(me) + "\n"));
          file.close();
        });
        return new RunLock(path, me);
      } catch (error) {
        if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      } finally {
        await Deno.remove(tmp).catch(() => {});
      }
      let text = "";
      let holder: LockHolder | null = null;
      try {
        text = await Deno.readTextFile(path);
        holder = JSON.parse(text);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) continue; // released meanwhile: try again
      }
      if (!holder || typeof holder.pid !== "number") {
        throw new UserInputError(
          `${path} exists but is unreadable: if no trainer is running on ${root}, delete it`,
        );
      }
      if (holder.host === me.host && !processAlive(holder.pid)) {
        console.error(
          `warning: taking over the stale lock ${path} of pid ${holder.pid} ` +
            `(started ${holder.started}; that process is gone)`,
        );
        // Remove it only if it still is that stale lock (another taker may have won meanwhile).
        if ((await Deno.readTextFile(path).catch(() => "")) === text) {
          await Deno.remove(path).catch(() => {});
        }
        continue;
      }
      throw new UserInputError(
        `${root} is in use by another trainer (pid ${holder.pid} on ${holder.host}, ` +
          `started ${holder.started}): wait for it to finish or stop it; ` +
          `sample/eval can read the run meanwhile`,
      );
    }
    throw new UserInputError(`could not take ${path}: another process keeps changing it; retry`);
  }

  /** Remove the lock file (idempotent; only if it is still ours). */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    globalThis.removeEventListener("unload", this.#onUnload);
    try {
      const holder = JSON.parse(Deno.readTextFileSync(this.path)) as LockHolder;
      if (holder.pid === this.holder.pid && holder.started === this.holder.started) {
        Deno.removeSync(this.path);
      }
    } catch {
      // already gone
    }
  }
}
