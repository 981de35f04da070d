// The command line's progress bar (cli-progress) for anything that may take more than a
// second: it appears on standard error only when that is a terminal (tests and pipes stay
// clean), and only once the work has run for a second, so quick runs print nothing extra.

import { SingleBar, Presets } from "cli-progress";

export interface ProgressSink {
  /** Report `done` of `total` units, with an optional note (e.g. violations so far). */
  update(done: number, total: number, note?: string): void;
  /** Remove the bar (before the results are printed). */
  stop(): void;
}

const SHOW_AFTER_MS = 1000;

export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): ProgressSink {
  const started = Date.now();
  let bar: SingleBar | undefined;
  return {
    update(done, total, note = "") {
      if (!stream.isTTY) return;
      if (!bar) {
        if (Date.now() - started < SHOW_AFTER_MS) return;
        bar = new SingleBar({
          stream, format: `${label} {bar} {percentage}% | {value}/{total} | {eta_formatted} left {note}`,
          hideCursor: true, clearOnComplete: true, etaBuffer: 20,
        }, Presets.shades_classic);
        bar.start(total, done, { note });
      }
      bar.setTotal(total);
      bar.update(Math.min(done, total), { note });
    },
    stop() {
      bar?.stop();
    },
  };
}
