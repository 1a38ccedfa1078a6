/**
 * The one progress reporter: a live bar on a TTY, plain lines otherwise (CI logs, notebooks).
 */
import cliProgress from "cli-progress";
import process from "node:process";

export class Progress {
  #bar: cliProgress.SingleBar | null = null;
  #lastLine = 0;
  #startStep = 0;
  #startTime = 0;

  constructor(readonly total: number, readonly label: string, readonly enabled = true) {}

  start(step: number): void {
    this.#startStep = step;
    this.#startTime = performance.now();
    if (!this.enabled) return;
    if (Deno.stderr.isTerminal()) {
      this.#bar = new cliProgress.SingleBar({
        format:
          `${this.label} [{bar}] {value}/{total} | {rate} step/s | ETA {eta_formatted} | {losses}`,
        stream: process.stderr,
        hideCursor: true,
      }, cliProgress.Presets.shades_classic);
      this.#bar.start(this.total, step, { rate: "-", losses: "" });
    } else {
      console.error(`${this.label}: starting at step ${step}/${this.total}`);
    }
  }

  update(step: number, losses: Record<string, number>): void {
    if (!this.enabled) return;
    const elapsed = (performance.now() - this.#startTime) / 1000;
    const rate = (step - this.#startStep) / Math.max(elapsed, 1e-9);
    const lossText = Object.entries(losses).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(" ");
    if (this.#bar) {
      this.#bar.update(step, { rate: rate.toFixed(2), losses: lossText });
      return;
    }
    // Plain lines: at most one every 10 s, plus the last step.
    const now = performance.now();
    if (now - this.#lastLine < 10_000 && step !== this.total) return;
    this.#lastLine = now;
    const eta = rate > 0 ? (this.total - step) / rate : NaN;
    console.error(
      `${this.label} step ${step}/${this.total} | ${rate.toFixed(2)} step/s | ETA ${
        Number.isFinite(eta) ? eta.toFixed(0) + "s" : "-"
      } | ${lossText}`,
    );
  }

  stop(): void {
    this.#bar?.stop();
    this.#bar = null;
  }
}
