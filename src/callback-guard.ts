// The caller's callbacks (onProgress, onResult) during a run: one that throws stops the run.
// Called from a timer, its error would otherwise escape as an uncaught exception and end the
// process; swallowed, the caller would never hear of it. So the first error is kept, the run
// is told to stop (at its next safe point, as on a signal), and once the run has wound down
// cleanly — workers finished, simulator closed — it rejects with that error.

export class CallbackGuard {
  private failure: { error: unknown } | undefined;

  /** `stop` asks the run to end early; it is called once, at the first callback that throws. */
  constructor(private readonly stop: () => void) {}

  /** Calls `cb` with `arg`: nothing when it is left out, or once one callback has failed. */
  call<A>(cb: ((arg: A) => void) | undefined, arg: A): void {
    if (cb === undefined || this.failure) return;
    try {
      cb(arg);
    } catch (error) {
      this.failure = { error };
      this.stop();
    }
  }

  /** Throws the first callback's error, if one threw: the run's outcome once it has stopped. */
  rethrow(): void {
    if (this.failure) throw this.failure.error;
  }
}
