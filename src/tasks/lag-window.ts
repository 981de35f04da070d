// A bounded lag between workers in modelled time: the conservative window of parallel
// discrete-event simulation (the quantum of parallel gem5 and SST, without their global
// barrier). Each worker publishes the clock of its simulated CPU furthest behind; a worker
// runs its CPUs only up to the others' published minimum + one quantum, and waits while it
// is there. The worker holding the overall minimum can always run, so nobody waits forever,
// and no CPU gets more than a quantum (plus the operation that crossed the window's end)
// ahead of another: shared resources booked in modelled time (assembly/cpu-time.ts) are
// booked out of modelled order by at most that much. Used by the map benchmark's workers
// (src/tasks/map-benchmark.ts) and by scenario runs with contention (src/tasks/scenario.ts).
//
// The buffer: Int32 word 0 is the owner's (a stop word), word 1 the publish generation
// (waiters sleep on it), then a Float64 per worker from byte CLOCKS_AT (Infinity: done).

const GEN = 1;
const CLOCKS_AT = 8;

/** The default quantum: below one operation of the DMA path, so two workers give one worker's figures. */
export const DEFAULT_QUANTUM_NS = 500;

/** The bytes of a lag window's buffer for `workers` workers. */
export function lagWindowBytes(workers: number): number {
  return CLOCKS_AT + 8 * workers;
}

/** A lag window's buffer for `workers` workers (every published clock at 0). */
export function lagWindowBuffer(workers: number): SharedArrayBuffer {
  return new SharedArrayBuffer(lagWindowBytes(workers));
}

/** The window one worker runs in: its published clock, and everyone's. */
export class LagWindow {
  private readonly gen: Int32Array;
  private readonly clocks: Float64Array;

  constructor(buffer: SharedArrayBuffer, private readonly me: number) {
    this.gen = new Int32Array(buffer, 0, 2);
    this.clocks = new Float64Array(buffer, CLOCKS_AT);
  }

  publish(clockNs: number): void {
    if (this.clocks[this.me] === clockNs) return;
    this.clocks[this.me] = clockNs;
    Atomics.add(this.gen, GEN, 1);
    Atomics.notify(this.gen, GEN);
  }

  /** The lowest clock the other workers published (Infinity: none is running). */
  othersMin(): number {
    let min = Infinity;
    for (let w = 0; w < this.clocks.length; w++) if (w !== this.me && this.clocks[w]! < min) min = this.clocks[w]!;
    return min;
  }

  /** Wait until another worker publishes (or `stopped` says so): spin briefly, then short sleeps. */
  waitForOthers(seen: number, stopped: () => boolean): void {
    for (let spins = 0; Atomics.load(this.gen, GEN) === seen && !stopped(); spins++) {
      if (spins > 2000) Atomics.wait(this.gen, GEN, seen, 2);
    }
  }

  generation(): number {
    return Atomics.load(this.gen, GEN);
  }
}
