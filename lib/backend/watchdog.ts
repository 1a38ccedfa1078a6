/**
 * Deadlock watchdog for the multi-threaded wasm backend.
 *
 * Threaded XNNPACK under Deno has been seen to deadlock (2 of ≈35 processes sat at 0% CPU
 * forever). A deadlocked main thread runs no timers, so the watch runs in a worker thread that
 * shares a few counters with the main thread through a SharedArrayBuffer:
 *
 *  - every guarded call (each wasm kernel, the threaded init, `withWatchdog` regions) raises a
 *    depth counter on entry, lowers it on exit and bumps a progress counter both times;
 *  - `heartbeat()` (the trainer calls it once per step) also bumps the progress counter;
 *  - if the depth stays > 0 with no progress for `timeoutSeconds`, the worker prints ONE line
 *    naming the stuck call and the workaround, then kills the process (SIGKILL: a blocked main
 *    thread cannot run an exit handler; the exit status is 137).
 *
 * Time spent outside guarded calls (data loading, evaluation in JS, waiting) never counts, so
 * long steps cannot trigger it; only a single call stuck for the whole timeout can.
 */
import * as tf from "@tensorflow/tfjs";
import { Worker } from "node:worker_threads";

/** Int32 slots of the shared state. */
const DEPTH = 0;
const PROGRESS = 1;
const STOP = 2;
const LABEL = 3;
const STEPS = 4;
const SLOTS = 8;
/** Label table: NUL-separated UTF-8 names; id = position in the table. */
const LABEL_BYTES = 1 << 15;

export interface WatchdogOptions {
  /** Seconds a guarded call may run without progress. Default: GENLAB_WATCHDOG_SECONDS or 60;
   * 0 disables the watchdog. */
  timeoutSeconds?: number;
  /** What to tell the user; default names `--threads 1` / GENLAB_WASM_THREADS=1. */
  hint?: string;
}

export interface WatchdogStatus {
  running: boolean;
  timeoutSeconds: number;
  steps: number;
  depth: number;
}

const DEFAULT_HINT = "rerun with --threads 1 (or GENLAB_WASM_THREADS=1)";

let state: Int32Array | null = null;
let labelBytes: Uint8Array | null = null;
let labelEnd = 0;
const labelIds = new Map<string, number>();
let worker: Worker | null = null;
let timeoutSeconds = 0;
/** Shared state exists from the first guarded call on, so guards work before start(). */
function shared(): Int32Array {
  if (state === null) {
    state = new Int32Array(new SharedArrayBuffer(SLOTS * 4));
    labelBytes = new Uint8Array(new SharedArrayBuffer(LABEL_BYTES));
  }
  return state;
}

function labelId(label: string): number {
  let id = labelIds.get(label);
  if (id !== undefined) return id;
  shared();
  const bytes = new TextEncoder().encode(label.replaceAll("\0", " "));
  if (labelEnd + bytes.length + 1 > LABEL_BYTES) return 0;
  labelBytes!.set(bytes, labelEnd);
  labelEnd += bytes.length + 1; // the buffer is zeroed: the NUL is already there
  id = labelIds.size + 1;
  labelIds.set(label, id);
  return id;
}

/** Mark the start of a guarded call. Returns the previous label id for `leave`. */
function enter(label: number): number {
  const s = shared();
  const previous = Atomics.exchange(s, LABEL, label);
  Atomics.add(s, DEPTH, 1);
  Atomics.add(s, PROGRESS, 1);
  return previous;
}

function leave(previous: number): void {
  const s = state!;
  Atomics.sub(s, DEPTH, 1);
  Atomics.add(s, PROGRESS, 1);
  Atomics.store(s, LABEL, previous);
}

/** Run `fn` as a guarded call: if it does not return within the timeout, the process ends. */
export function withWatchdog<T>(label: string, fn: () => T): T {
  const previous = enter(labelId(label));
  try {
    return fn();
  } finally {
    leave(previous);
  }
}

/** Async variant (used around the threaded backend's initialisation). */
export async function withWatchdogAsync<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const previous = enter(labelId(label));
  try {
    return await fn();
  } finally {
    leave(previous);
  }
}

/** Call once per training step: counts as progress and numbers the steps in the message. */
export function heartbeat(): void {
  const s = shared();
  Atomics.add(s, STEPS, 1);
  Atomics.add(s, PROGRESS, 1);
}

const guardedBackends = new Set<string>();

/** Guard every kernel currently registered for `backendName` (call after all registrations). */
export function guardKernels(backendName: string): void {
  if (guardedBackends.has(backendName)) return;
  guardedBackends.add(backendName);
  for (const config of tf.getKernelsForBackend(backendName)) {
    const original = config.kernelFunc;
    const id = labelId(`${backendName} kernel ${config.kernelName}`);
    tf.unregisterKernel(config.kernelName, backendName);
    tf.registerKernel({
      ...config,
      kernelFunc: ((args: Parameters<tf.KernelFunc>[0]) => {
        const previous = enter(id);
        try {
          return original(args);
        } finally {
          leave(previous);
        }
      }) as tf.KernelFunc,
    });
  }
}

/** The watching thread. Runs in a worker via Function.prototype.toString: self-contained. */
function watch(data: {
  state: SharedArrayBuffer;
  labels: SharedArrayBuffer;
  timeoutMs: number;
  hint: string;
}): void {
  const s = new Int32Array(data.state);
  const labels = new Uint8Array(data.labels);
  const STOP_ = 2;
  const tick = Math.max(50, Math.min(1000, data.timeoutMs / 10));
  let lastProgress = Atomics.load(s, 1);
  let stuckSince = -1;
  const labelName = (id: number): string => {
    let start = 0;
    for (let k = 1; k < id; k++) {
      while (start < labels.length && labels[start] !== 0) start++;
      start++;
    }
    let end = start;
    while (end < labels.length && labels[end] !== 0) end++;
    return id > 0 ? new TextDecoder().decode(labels.slice(start, end)) : "a guarded call";
  };
  while (Atomics.load(s, STOP_) === 0) {
    Atomics.wait(s, STOP_, 0, tick);
    const depth = Atomics.load(s, 0);
    const progress = Atomics.load(s, 1);
    const now = Date.now();
    if (depth <= 0 || progress !== lastProgress) {
      lastProgress = progress;
      stuckSince = -1;
      continue;
    }
    if (stuckSince < 0) stuckSince = now - tick;
    if (now - stuckSince < data.timeoutMs) continue;
    const label = labelName(Atomics.load(s, 3));
    const steps = Atomics.load(s, 4);
    const msg = `genlab: watchdog: ${label} has not returned for ` +
      `${Math.round((now - stuckSince) / 1000)} s (${steps} step(s) done) - likely a wasm ` +
      `thread deadlock; exiting. Workaround: ${data.hint}\n`;
    const deno = (globalThis as unknown as { Deno: typeof Deno }).Deno;
    deno.stderr.writeSync(new TextEncoder().encode(msg));
    try {
      deno.kill(deno.pid, "SIGKILL");
    } catch (e) {
      deno.stderr.writeSync(
        new TextEncoder().encode(
          `genlab: watchdog could not end the process (${e}); kill ${deno.pid}\n`,
        ),
      );
      return;
    }
  }
}

function defaultTimeout(): number {
  const env = Deno.env.get("GENLAB_WATCHDOG_SECONDS");
  if (env === undefined || env === "") return 60;
  const v = Number(env);
  if (!Number.isFinite(v) || v < 0) {
    throw new Error(`GENLAB_WATCHDOG_SECONDS must be a number of seconds >= 0, got '${env}'`);
  }
  return v;
}

/** Start the watching thread (idempotent; a second call only changes nothing). Returns false
 * when disabled (timeout 0). The thread never keeps the process alive. */
export function startWatchdog(options: WatchdogOptions = {}): boolean {
  if (worker !== null) return true;
  const timeout = options.timeoutSeconds ?? defaultTimeout();
  if (!(timeout > 0)) return false;
  const s = shared();
  Atomics.store(s, STOP, 0);
  timeoutSeconds = timeout;
  const data = {
    state: s.buffer as SharedArrayBuffer,
    labels: labelBytes!.buffer as SharedArrayBuffer,
    timeoutMs: timeout * 1000,
    hint: options.hint ?? DEFAULT_HINT,
  };
  const source = `(${watch.toString()})(require("node:worker_threads").workerData);`;
  worker = new Worker(source, { eval: true, workerData: data });
  worker.unref();
  return true;
}

/** Stop the watching thread (e.g. before switching to a backend without threads). */
export async function stopWatchdog(): Promise<void> {
  if (worker === null) return;
  const s = shared();
  Atomics.store(s, STOP, 1);
  Atomics.notify(s, STOP);
  const w = worker;
  worker = null;
  timeoutSeconds = 0;
  await w.terminate();
}

export function watchdogStatus(): WatchdogStatus {
  const s = shared();
  return {
    running: worker !== null,
    timeoutSeconds,
    steps: Atomics.load(s, STEPS),
    depth: Atomics.load(s, DEPTH),
  };
}
