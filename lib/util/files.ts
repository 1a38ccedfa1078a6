/**
 * Atomic file writes (temp file in the same directory + rename), so a crash or kill -9 never
 * leaves a half-written checkpoint, config or metrics file behind.
 */
/** How bytes reach the disk; tests inject one that fails (disk full, permission) mid-write. */
export type WriteFile = (path: string, data: Uint8Array) => Promise<void>;

export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  write: WriteFile = Deno.writeFile,
): Promise<void> {
  // A unique temp name: two processes writing the same file never clobber each other's temp.
  const tmp = `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    await write(tmp, typeof data === "string" ? new TextEncoder().encode(data) : data);
    await Deno.rename(tmp, path);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
}

export function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  return writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

export async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await Deno.readTextFile(path)) as T;
}

export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** The current git commit (with "-dirty" when the tree has changes), or "unknown". */
export function gitCommit(): string {
  try {
    const run = (args: string[]) =>
      new TextDecoder().decode(
        new Deno.Command("git", { args, stderr: "null" }).outputSync().stdout,
      ).trim();
    const head = run(["rev-parse", "--short=12", "HEAD"]);
    if (!head) return "unknown";
    const dirty = run(["status", "--porcelain", "--untracked-files=no"]) !== "";
    return dirty ? `${head}-dirty` : head;
  } catch {
    return "unknown";
  }
}
