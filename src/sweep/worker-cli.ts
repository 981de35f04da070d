// `iommu-sim worker --queue redis://HOST:PORT`: the command around runQueueWorker
// (src/sweep/queue-worker.ts). Ctrl-C (or SIGTERM) once: take no more points, finish the ones
// being run and store them, then exit 0. Twice: exit at once; the points being run are given
// to other workers when their locks run out (BullMQ's stalled-job check, within ~12 s).

import { runQueueWorker } from "./queue-worker.js";
import { parseRedisUrl } from "./redis.js";

export interface WorkerCliOptions {
  queue: string;
  concurrency?: number;
}

/** Runs the worker until a signal stops it; lines go to `say`, the signals' notes to standard error. */
export async function runWorkerCommand(o: WorkerCliOptions, say: (line: string) => void): Promise<void> {
  parseRedisUrl(o.queue, "--queue"); // refused by the option's name before anything starts
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (!abort.signal.aborted) {
      console.error(`iommu-sim worker: ${signal}: finishing the points being run, then stopping ` +
        "(again to stop at once: their jobs then go to other workers)");
      abort.abort();
      return;
    }
    console.error(`iommu-sim worker: ${signal} again: stopping now`);
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const r = await runQueueWorker({ queue: o.queue, ...(o.concurrency === undefined ? {} : { concurrency: o.concurrency }), signal: abort.signal, onEvent: say });
    say(`stopped: ${r.ran} point(s) run and stored`);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
