// The kernel primitives a C litmus test may call, and the events each one stands for, as the
// Linux-kernel memory model's linux-kernel.def maps them for herd7: READ_ONCE/WRITE_ONCE are
// "once" accesses, the _acquire/_release forms tag the read/write, an RMW without a suffix (and a
// value-returning atomic_*) is fully ordered ("Mb" on both of its accesses), a void atomic_* has a
// "noreturn" read, a failed cmpxchg is a lone read without ordering, spinlocks are lock-read/
// lock-write pairs and unlock writes (lock.cat), RCU calls are fences, SRCU lock/unlock (and
// their down_read/up_read forms) are a read and a write of the srcu_struct. One table: the
// parser checks names and arity against it, the thread runner (./threads.ts) performs it.

/** How an argument is written: `*x` (a place), `x` (a pointer value), or any value. */
export type ArgKind = "*loc" | "loc" | "val";
/** Ordering of an access or an RMW, as the suffix names it. */
export type Order = "once" | "acquire" | "release" | "mb";
/** The fences: each its own event tag (./events.ts). */
export type FenceKind = "mb" | "rmb" | "wmb" | "barrier" | "rcu-lock" | "rcu-unlock" | "sync-rcu" | "before-atomic" |
  "after-atomic" | "after-spinlock" | "after-unlock-lock" | "after-srcu-read-unlock";

export type Primitive =
  | { op: "load"; order: "once" | "acquire"; args: ArgKind[] }
  /** `mb`: a full fence after the store (smp_store_mb). */
  | { op: "store"; order: "once" | "release"; args: ArgKind[]; mb?: true }
  | { op: "fence"; fence: FenceKind; args: ArgKind[] }
  | { op: "xchg" | "cmpxchg"; order: Order; args: ArgKind[] }
  /** atomic_add/sub/inc/dec and their _return, fetch_ and _and_test forms. */
  | { op: "atomic"; sign: 1 | -1; by: "arg" | 1; result: "none" | "new" | "old" | "is-zero" | "is-negative"; order: Order; args: ArgKind[] }
  | { op: "add-unless"; args: ArgKind[] }
  | { op: "spin_lock" | "spin_unlock" | "spin_trylock" | "spin_is_locked"; args: ArgKind[] }
  | { op: "srcu_read_lock" | "srcu_read_unlock" | "synchronize_srcu"; args: ArgKind[] };

const SUFFIX: [string, Order][] = [["", "mb"], ["_relaxed", "once"], ["_acquire", "acquire"], ["_release", "release"]];

function table(): Record<string, Primitive> {
  const t: Record<string, Primitive> = {
    READ_ONCE: { op: "load", order: "once", args: ["*loc"] },
    rcu_dereference: { op: "load", order: "once", args: ["*loc"] },
    smp_load_acquire: { op: "load", order: "acquire", args: ["loc"] },
    atomic_read: { op: "load", order: "once", args: ["loc"] },
    atomic_read_acquire: { op: "load", order: "acquire", args: ["loc"] },
    WRITE_ONCE: { op: "store", order: "once", args: ["*loc", "val"] },
    rcu_assign_pointer: { op: "store", order: "release", args: ["*loc", "val"] },
    smp_store_release: { op: "store", order: "release", args: ["loc", "val"] },
    smp_store_mb: { op: "store", order: "once", args: ["*loc", "val"], mb: true },
    atomic_set: { op: "store", order: "once", args: ["loc", "val"] },
    atomic_set_release: { op: "store", order: "release", args: ["loc", "val"] },
    smp_mb: { op: "fence", fence: "mb", args: [] },
    smp_rmb: { op: "fence", fence: "rmb", args: [] },
    smp_wmb: { op: "fence", fence: "wmb", args: [] },
    barrier: { op: "fence", fence: "barrier", args: [] },
    smp_mb__before_atomic: { op: "fence", fence: "before-atomic", args: [] },
    smp_mb__after_atomic: { op: "fence", fence: "after-atomic", args: [] },
    smp_mb__after_spinlock: { op: "fence", fence: "after-spinlock", args: [] },
    smp_mb__after_unlock_lock: { op: "fence", fence: "after-unlock-lock", args: [] },
    smp_mb__after_srcu_read_unlock: { op: "fence", fence: "after-srcu-read-unlock", args: [] },
    rcu_read_lock: { op: "fence", fence: "rcu-lock", args: [] },
    rcu_read_unlock: { op: "fence", fence: "rcu-unlock", args: [] },
    synchronize_rcu: { op: "fence", fence: "sync-rcu", args: [] },
    synchronize_rcu_expedited: { op: "fence", fence: "sync-rcu", args: [] },
    spin_lock: { op: "spin_lock", args: ["loc"] },
    spin_unlock: { op: "spin_unlock", args: ["loc"] },
    spin_trylock: { op: "spin_trylock", args: ["loc"] },
    spin_is_locked: { op: "spin_is_locked", args: ["loc"] },
    srcu_read_lock: { op: "srcu_read_lock", args: ["loc"] },
    srcu_read_unlock: { op: "srcu_read_unlock", args: ["loc", "val"] },
    // The .def makes srcu_down_read/srcu_up_read the same srcu-lock load and srcu-unlock
    // store: they differ from srcu_read_lock/unlock only for lockdep (the two halves may run
    // on different CPUs), and the model matches a lock to its unlock by the index's data flow.
    srcu_down_read: { op: "srcu_read_lock", args: ["loc"] },
    srcu_up_read: { op: "srcu_read_unlock", args: ["loc", "val"] },
    synchronize_srcu: { op: "synchronize_srcu", args: ["loc"] },
    synchronize_srcu_expedited: { op: "synchronize_srcu", args: ["loc"] },
    atomic_add_unless: { op: "add-unless", args: ["loc", "val", "val"] },
    atomic_add: { op: "atomic", sign: 1, by: "arg", result: "none", order: "once", args: ["val", "loc"] },
    atomic_sub: { op: "atomic", sign: -1, by: "arg", result: "none", order: "once", args: ["val", "loc"] },
    atomic_inc: { op: "atomic", sign: 1, by: 1, result: "none", order: "once", args: ["loc"] },
    atomic_dec: { op: "atomic", sign: -1, by: 1, result: "none", order: "once", args: ["loc"] },
    atomic_sub_and_test: { op: "atomic", sign: -1, by: "arg", result: "is-zero", order: "mb", args: ["val", "loc"] },
    atomic_dec_and_test: { op: "atomic", sign: -1, by: 1, result: "is-zero", order: "mb", args: ["loc"] },
    atomic_inc_and_test: { op: "atomic", sign: 1, by: 1, result: "is-zero", order: "mb", args: ["loc"] },
    atomic_add_negative: { op: "atomic", sign: 1, by: "arg", result: "is-negative", order: "mb", args: ["val", "loc"] },
  };
  for (const [suffix, order] of SUFFIX) {
    t[`xchg${suffix}`] = { op: "xchg", order, args: ["loc", "val"] };
    t[`atomic_xchg${suffix}`] = { op: "xchg", order, args: ["loc", "val"] };
    t[`cmpxchg${suffix}`] = { op: "cmpxchg", order, args: ["loc", "val", "val"] };
    t[`atomic_cmpxchg${suffix}`] = { op: "cmpxchg", order, args: ["loc", "val", "val"] };
    for (const [name, sign] of [["add", 1], ["sub", -1], ["inc", 1], ["dec", -1]] as const) {
      const by = name === "inc" || name === "dec" ? 1 : "arg";
      const args: ArgKind[] = by === 1 ? ["loc"] : ["val", "loc"];
      t[`atomic_${name}_return${suffix}`] = { op: "atomic", sign, by, result: "new", order, args };
      t[`atomic_fetch_${name}${suffix}`] = { op: "atomic", sign, by, result: "old", order, args };
    }
  }
  return t;
}

/** Every primitive by the name a litmus test calls it. */
export const PRIMITIVES: Readonly<Record<string, Primitive>> = table();
