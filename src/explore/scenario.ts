// IOMMU scenarios for the deterministic explorer: simulated CPUs whose programs are the
// DMA API broken into the steps where its shared reads and writes happen — the unmap path
// of a seed variant (reference §1.3, §2.5), the strict→lazy switch (§1.2, §2.4), a map,
// a device access — run against one real simulation (the Wasm core), with the safety
// oracle judging every device access. The unmap's and the switch's steps are the core's
// own definition of the variant (assembly/dma/steps.ts, read through steps.ts), the one
// runs execute. The memory model (src/explore/model.ts) decides what each read of the
// modelled words (fq_domain, the queue, the v2 quirk) sees; the rest of the state (page
// tables, IOTLB, IOVA allocator) is the simulation's own.
//
// Beside the DMA API, the kernel paths of three real races (bug-corpus #3, #6, #14), each cut
// into the steps where the race lives and performed by the core: a driver's own iommu_map /
// iommu_unmap (the block split's build and compare-and-swap; assembly/dma/driver.ts), the
// flush queue's timer callback and teardown (assembly/iova/fq.ts), and a device probing
// (iommu_dma_init_domain; assembly/dma/probe.ts). A step that waits (del_timer_sync, the
// cookie's mutex) says so through `blocked`, and the explorer leaves out the schedules in
// which it would still be waiting.
//
// A scenario is plain data (a JSON file can hold one):
//   { "profile": "5.15", "variant": "merged", "bufferSize": 262144,
//     "setup": [ {"map": "old", "cpu": "B"}, {"access": "old"} ],
//     "threads": { "B": [{"unmap": "old"}], "A": [{"switch": "lazy"}],
//                  "C": [{"map": "new"}], "dev": [{"access": "old"}] } }
// Buffers are named; "access" uses the IOVA the buffer was last given (a device keeps the
// address it was handed, as a slow DMA or an attacker does). Each thread is a simulated
// CPU (in order of appearance); a thread doing only accesses is the device.
//
// The default buffer is 256 KiB: 64 pages, above the largest rcache bin, so a freed IOVA
// goes straight back to the tree and the next map of the same size — on any CPU — gets it.

import { Simulator, checkBehaviourOverrides } from "../simulator.js";
import { ArgumentError, IommuSimError, hex } from "../errors.js";
import { checkBool, checkOptions, type OptionKeys } from "../validate.js";
import { SEED_VARIANTS, type DmaDevice, type DmaDomain, type SeedVariant } from "../dma.js";
import { SMMU_MODELS, type Smmu, type SmmuModel } from "../smmu/smmu.js";
import type { Violation } from "../safety/oracle.js";
import type { Core } from "../../bindings/core.js";
import type { Dep, Footprint, Program, Regs, Step, Thread } from "./model.js";
import {
  Buffers, accessFootprint, driverMapFootprint, driverUnmapFootprints, fqReleaseFootprint, fqTeardownFootprint,
  fqTimerFootprint, mapFootprint, probeFootprints, storeFootprint, switchFootprint, unmapFootprint,
} from "./footprints.js";
import { encodeStep, resolveVariant } from "../variants/program.js";
import {
  parseVariant, registerOf, type ResolvedSequence, type ResolvedStep, type ResolvedVariant, type VariantAction,
  type VariantDefinition, type VariantWord,
} from "../variants/vocabulary.js";
import { PROFILES, type BehaviourOverrides, type Profile } from "../profile.js";
import { checkCore, coreError, isErrno } from "../errno.js";
import { formatPath } from "../run/scenario.js";
import { THREAD_NAME_RULE, isThreadName } from "./ppo.js";

export type ScenarioOp =
  | { map: string; cpu?: string }
  | { unmap: string }
  | { switch: "lazy" }
  | { access: string; kind?: "read" | "write"; page?: number }
  /** The device's driver maps the buffer (or one 4 KiB page of it) itself: iommu_map, not the DMA API. */
  | { iommuMap: string; page?: number; cpu?: string }
  /** The driver unmaps the buffer (or one page of it): iommu_unmap, strict, in three steps. */
  | { iommuUnmap: string; page?: number }
  /** The flush queue's timer fires on this CPU: fq_flush_timeout's flush, then one step per ring's release scan. */
  | { fqTimeout: true }
  /** The flush queue's teardown on this CPU: cancel the timer, the entries' destructors, free the rings, clear the pointer. */
  | { fqTeardown: true }
  /** A device of the group probes: iommu_dma_init_domain's test, init_iova_domain and its reserved region, in steps. */
  | { probe: true }
  /** (setup) The domain's DMA cookie as a new group has it: its IOVA domain never initialised (start_pfn 0). */
  | { newCookie: true };

export interface Scenario {
  name?: string;
  profile?: Profile;
  /** The profile's behaviours changed by name: `{ without: ["…"] }` removes one it has, `with` adds one it lacks. */
  behaviours?: BehaviourOverrides;
  /** The switch and unmap code: a seed variant's name, or a variant definition of your own. */
  variant?: SeedVariant | VariantDefinition;
  /** Bytes per buffer (default 256 KiB). */
  bufferSize?: number;
  /**
   * Which SMMU the domain sits behind (default "v3"): "v2" (or "v1") runs the arm-smmu
   * driver, whose unmaps write TLBIVAL registers at once and sync with TLBSYNC.
   */
  smmu?: SmmuModel;
  /** Run once, before every schedule, in order (a map's cpu defaults to the first thread). */
  setup?: ScenarioOp[];
  /** Thread name → its operations, in program order. */
  threads: Record<string, ScenarioOp[]>;
}

/** The seed mail's race: B unmaps, A switches the domain to lazy, C maps a new buffer, the
 *  device still has the old buffer's translation cached and uses it. */
export const SEED_RACE: Scenario = {
  name: "seed-race",
  profile: "5.15",
  bufferSize: 256 * 1024,
  setup: [{ map: "old", cpu: "B" }, { access: "old" }],
  threads: {
    B: [{ unmap: "old" }],
    A: [{ switch: "lazy" }],
    C: [{ map: "new" }],
    dev: [{ access: "old" }],
  },
};

/** Five CPUs: the seed race with a second unmap in flight on another CPU — B and D each unmap
 *  a buffer, A switches the domain to lazy, C maps a new buffer (which may get either freed
 *  IOVA), and the device still uses both old buffers through what the SMMU cached. */
export const TWO_UNMAPPERS: Scenario = {
  name: "two-unmappers",
  profile: "5.15",
  bufferSize: 256 * 1024,
  setup: [{ map: "old1", cpu: "B" }, { map: "old2", cpu: "D" }, { access: "old1" }, { access: "old2" }],
  threads: {
    B: [{ unmap: "old1" }],
    D: [{ unmap: "old2" }],
    A: [{ switch: "lazy" }],
    C: [{ map: "new" }],
    dev: [{ access: "old1" }, { access: "old2" }],
  },
};

/** Bug-corpus #6 (85c7a0f1ef62): a driver maps a 2 MiB block, then CPUs A and B each unmap
 *  one page of it at once; both build a split table and race to install it. The device keeps
 *  using B's page, and A maps its page again after unmapping it. In the 5.15 profile without
 *  PGT_SPLIT_LOSER_UNMAPS the loser's page stays mapped although its unmap returned success. */
export const SPLIT_RACE: Scenario = {
  name: "split-race",
  profile: "5.15",
  bufferSize: 2 * 1024 * 1024,
  setup: [{ iommuMap: "blk", cpu: "A" }, { access: "blk", page: 2 }],
  threads: {
    A: [{ iommuUnmap: "blk", page: 1 }, { iommuMap: "blk", page: 1 }],
    B: [{ iommuUnmap: "blk", page: 2 }],
    dev: [{ access: "blk", page: 2 }],
  },
};

/** Bug-corpus #3 (d7061627d701): a lazy domain with an unmap waiting in CPU timer's ring and
 *  the flush-queue timer armed; CPU timer runs the timer callback while CPU teardown tears the
 *  queue down (a device going away). In the 5.15 profile (5.15.16: the timer deleted only if
 *  pending) the callback scans rings that teardown freed; with FQ_TEARDOWN_WAITS_TIMER
 *  (6.12, 7.1) teardown waits for the running callback. */
export const FQ_TIMEOUT_TEARDOWN: Scenario = {
  name: "fq-timeout-teardown",
  profile: "5.15",
  bufferSize: 16 * 1024,
  setup: [{ switch: "lazy" }, { map: "buf", cpu: "timer" }, { unmap: "buf" }],
  threads: {
    timer: [{ fqTimeout: true }],
    teardown: [{ fqTeardown: true }],
  },
};

/** Bug-corpus #14 (ac9a5d522bb8): two devices of one group probe at once, each running
 *  iommu_dma_init_domain on the group's new DMA cookie. In the 5.15 profile (no cookie mutex
 *  before v6.0) both can see the IOVA domain uninitialised and both initialise it, the second
 *  dropping what the first had reserved; with DMA_INIT_DOMAIN_LOCKED (6.12, 7.1) the second waits. */
export const PROBE_RACE: Scenario = {
  name: "probe-race",
  profile: "5.15",
  bufferSize: 4096,
  setup: [{ newCookie: true }],
  threads: { A: [{ probe: true }], B: [{ probe: true }] },
};

export const BUILTIN_SCENARIOS: Readonly<Record<string, Scenario>> = Object.freeze({
  "seed-race": SEED_RACE, "two-unmappers": TWO_UNMAPPERS, "split-race": SPLIT_RACE,
  "fq-timeout-teardown": FQ_TIMEOUT_TEARDOWN, "probe-race": PROBE_RACE,
});

/** The region a probing device's IOMMU reports reserved: 1 MiB at 0x8000000, where the Arm SMMU drivers put their software MSI window. */
export const PROBE_RESERVED_REGION = Object.freeze({ base: 0x800_0000, size: 0x10_0000 });

/** Bytes of one page of a buffer, as `page` counts them (the DMA domain's granule). */
export const SCENARIO_PAGE = 4096;

/** Everything a program's steps act on; rebuilt to the post-setup state before each schedule. */
class World {
  readonly buffers = new Map<string, { phys: number; iova: number }>();
  pending: string | undefined;
  /** Pages ("buf#page") whose driver unmap returned success in this schedule, and on which CPU. */
  readonly unmapReported = new Map<string, string>();
  /** Probing CPUs: what each read of start_pfn said, who holds the cookie's mutex, who initialised first. */
  readonly probeSawInitialised = new Map<string, boolean>();
  probeHolder: string | undefined;
  probeInitialisedBy: string | undefined;
  private snapshot: Uint8Array[] = [];
  private setupBuffers = new Map<string, { phys: number; iova: number }>();

  constructor(readonly sim: Simulator, readonly smmu: Smmu, readonly dom: DmaDomain, readonly dev: DmaDevice,
              readonly cpuOf: Map<string, number>, readonly size: number, readonly oracle: boolean,
              readonly bufs: Buffers) {}

  /**
   * The parts of the shared memory that hold state: the static map up to the counter
   * caches (what lies beyond is only for scenario runs and benchmarks), and the zones.
   */
  private regions(): Uint8Array[] {
    const core = this.sim.core;
    return [core.u8.subarray(0, core.layout.COUNTER_CACHES_BASE), core.u8.subarray(core.layout.DYNAMIC_BASE)];
  }

  /** Remember the state after setup (the memory that holds state, and the buffers' IOVAs). */
  freeze(): void {
    this.snapshot = this.regions().map((r) => r.slice());
    this.setupBuffers = new Map([...this.buffers].map(([k, v]) => [k, { ...v }]));
  }

  reset(): void {
    this.regions().forEach((r, i) => r.set(this.snapshot[i]!));
    this.buffers.clear();
    for (const [k, v] of this.setupBuffers) this.buffers.set(k, { ...v });
    this.pending = undefined;
    this.unmapReported.clear();
    this.probeSawInitialised.clear();
    this.probeHolder = undefined;
    this.probeInitialisedBy = undefined;
    this.smmu.oracle?.resyncAfterRestore();
  }

  /** Flush-queue rings: one per CPU (per-CPU mode). */
  fqRings(): number {
    return this.dom.cpus;
  }

  /** The thread (simulated CPU) with index `cpu`. */
  nameOf(cpu: number): string {
    for (const [n, i] of this.cpuOf) if (i === cpu) return n;
    return String(cpu);
  }

  buffer(name: string): { phys: number; iova: number } {
    let b = this.buffers.get(name);
    if (!b) {
      b = { phys: 0x4000_0000 + this.buffers.size * 0x100_0000, iova: 0 };
      this.buffers.set(name, b);
    }
    return b;
  }

  /** The first violation since the last call: the oracle's, or one a step noted. */
  check(): string | undefined {
    const found: Violation[] = this.oracle ? this.smmu.oracle!.takeViolations() : [];
    if (found.length) return `${found[0]!.kind}: ${found[0]!.explanation}`;
    const p = this.pending;
    this.pending = undefined;
    return p;
  }
}

// ── the steps of each operation, per variant ──────────────────────────────────
// An unmap and a switch are the variant's sequences as the vocabulary resolves them (the
// same definition runs load into the core): the memory model decides what each load sees;
// each store and action is encoded as the core's step word and performed by the core
// (dma_step_run) with the registers the model gave the step.

/** The registers a step depends on, as the core takes them: register r in byte r - 1. */
function packRegs(seq: ResolvedSequence, step: ResolvedStep, r: Regs): number {
  let word = 0;
  for (const local of [step.decide ?? step.guard?.local, step.data]) {
    const reg = registerOf(seq, local);
    if (reg !== 0) word |= ((r[local!] ?? 0) & 0xff) << ((reg - 1) * 8);
  }
  return word >>> 0;
}

/** The model's Step for one of the variant's steps; `effect` performs it (stores and actions). */
function modelStep(core: Core, seq: ResolvedSequence, step: ResolvedStep,
                   effect?: (word: number, regs: number, r: Regs) => string | void, footprint?: Footprint): Step {
  const word = encodeStep(core.layout, seq, step);
  const deps: Dep[] = [];
  const ctrl = step.decide ?? step.guard?.local;
  if (ctrl !== undefined) deps.push({ reg: ctrl, kind: "ctrl" });
  if (step.data !== undefined) deps.push({ reg: step.data, kind: "data" });
  const g = step.guard;
  const base = {
    label: step.label, ...(deps.length ? { deps } : {}),
    ...(g ? { guard: (r: Regs) => (r[g.local] ?? 0) !== 0 !== g.negate } : {}),
    ...(effect ? { run: (r: Regs) => effect(word, packRegs(seq, step, r), r) } : {}),
    ...(effect && footprint ? { footprint } : {}),
  };
  if (step.kind === "load") return { ...base, kind: "load", var: step.var!, mode: step.mode!, reg: step.out! };
  if (step.kind === "fence") return { ...base, kind: "fence", fence: step.fence! };
  if (step.kind === "action") return { ...base, kind: "action" };
  const value = step.data === undefined ? core.raw.dma_step_value(word, 0)
    : (r: Regs) => core.raw.dma_step_value(word, packRegs(seq, step, r));
  return { ...base, kind: "store", var: step.var!, mode: step.mode!, value };
}

function unmapSteps(w: World, cpuName: string, buf: string, variant: ResolvedVariant): Step[] {
  const cpu = w.cpuOf.get(cpuName)!;
  const raw = w.sim.core.raw;
  const id = w.dom.id;
  const seq = variant.unmap;
  const iova = () => hex(w.buffer(buf).iova);
  /** Perform a step: what it returned, or null for an unmap that found no queue (hazard 1). */
  const perform = (step: ResolvedStep, word: number, regs: number): number | null => {
    const rc = raw.dma_step_run(id, cpu, word, regs);
    if (isErrno(w.sim.core, rc, "ESIM_NO_QUEUE")) return null;
    return checkCore(w.sim.core, rc, `explore: step "${step.label}"`);
  };
  const release = (step: ResolvedStep, word: number, regs: number, queued: boolean): string => {
    if (perform(step, word, regs) === null) {
      w.pending = `queue-before-publish: CPU ${cpuName} saw fq_domain set and went to queue_iova, but read the ` +
        `flush queue as not yet built (Will's hazard 1: the writer's publication was not ordered after the ` +
        `queue's initialisation) — the kernel would dereference a NULL or half-built queue`;
      return "queue_iova on a queue that does not exist";
    }
    return queued ? `IOVA ${iova()} parked in the flush queue` : `IOVA ${iova()} freed at once (free_iova_fast)`;
  };
  const effects: Record<VariantAction, (step: ResolvedStep, word: number, regs: number, decided: boolean) => string | void> = {
    clear: (step, word, regs, skip) => {
      const b = w.buffer(buf);
      if (b.iova === 0) throw new ArgumentError("unmap", buf, "is not mapped (map it in setup or earlier on this CPU)", "scenario");
      checkCore(w.sim.core, raw.dma_unmap_begin(id, cpu, b.iova, w.size), `explore: the unmap of '${buf}'`);
      const n = perform(step, word, regs) ?? 0;
      return `cleared ${n / 4096} PTEs at IOVA ${hex(b.iova)}${skip ? ", leaf TLBIs not gathered" : ", leaf TLBIs gathered"}`;
    },
    sync: (step, word, regs, skip) => {
      perform(step, word, regs);
      return skip ? "sync skipped" : "iotlb_sync: TLBI + CMD_SYNC, waited for";
    },
    release: (step, word, regs, queued) => release(step, word, regs, queued),
    queue: (step, word, regs) => release(step, word, regs, true),
    free: (step, word, regs) => release(step, word, regs, false),
    "set-type": (step, word, regs) => { perform(step, word, regs); },
  };
  // What each performed step touches (footprints.ts): the reduction's only knowledge of it.
  const footprint = (step: ResolvedStep): Footprint | undefined => step.kind === "action"
    ? unmapFootprint(step.action!, cpuName, buf, w.bufs) : step.kind === "store" ? storeFootprint(step) : undefined;
  return seq.steps.map((step) => modelStep(w.sim.core, seq, step, step.kind === "action"
    ? (word, regs, r) => effects[step.action!](step, word, regs, step.decide !== undefined && !!r[step.decide])
    : step.kind === "store" ? (word, regs) => { storeEffect(w, cpu, step, word, regs); } : undefined, footprint(step)));
}

/** A store's effect in the core (the flag, the quirk word, or the queue's construction). */
function storeEffect(w: World, cpu: number, step: ResolvedStep, word: number, regs: number): string | undefined {
  const rc = w.sim.core.raw.dma_step_run(w.dom.id, cpu, word, regs);
  // The model's step always takes effect; a core that could not build the queue would make
  // every later step disagree with it, so that is a setup error, not a schedule's outcome.
  if (rc !== 0) {
    throw coreError(w.sim.core, rc, `explore: "${step.label}"`,
      step.var === "fq" ? { detail: "the scenario's simulator needs more kheap" } : {});
  }
  return step.var === "fq" ? "queue built" : undefined;
}

function switchSteps(w: World, variant: ResolvedVariant): Step[] {
  const seq = variant.switch;
  return seq.steps.map((step) => modelStep(w.sim.core, seq, step, step.kind === "load" || step.kind === "fence" ? undefined
    : (word, regs) => storeEffect(w, 0, step, word, regs), switchFootprint(step)));
}

function mapStep(w: World, cpuName: string, buf: string): Step {
  const cpu = w.cpuOf.get(cpuName)!;
  return {
    kind: "action", label: `dma_map(${buf})`, footprint: mapFootprint(buf, w.bufs), run: () => {
      const b = w.buffer(buf);
      b.iova = w.dev.map(b.phys, w.size, { cpu });
      const same = [...w.buffers].filter(([n, o]) => n !== buf && o.iova === b.iova).map(([n]) => n);
      return `got IOVA ${hex(b.iova)} → PA ${hex(b.phys)}${same.length ? ` (the IOVA '${same.join("', '")}' had)` : ""}`;
    },
  };
}

function accessStep(w: World, buf: string, kind: "read" | "write", page?: number): Step {
  const which = page === undefined ? `'${buf}'` : `page ${page} of '${buf}'`;
  return {
    kind: "action", label: `device ${kind}s ${which} at the IOVA it was given`, footprint: accessFootprint(buf, w.bufs), run: () => {
      const b = w.buffer(buf);
      if (b.iova === 0) throw new ArgumentError("access", buf, "was never mapped", "scenario");
      const at = b.iova + (page ?? 0) * SCENARIO_PAGE;
      const r = w.dev.access(at, 64, kind);
      if (!r.ok) return `IOVA ${hex(at)}: ${r.fault.type} fault`;
      const s = r.segments[0]!;
      return `IOVA ${hex(at)} → PA ${hex(s.pa)} via ${s.from}${s.check ? ` (oracle: ${s.check})` : ""}`;
    },
  };
}

// ── a driver's own iommu_map / iommu_unmap (assembly/dma/driver.ts) ──────────
// The driver manages these IOVAs itself: a buffer it maps sits at its own PA (an identity
// layout), reserved in the domain's IOVA allocator so that no dma_map hands it out.

/** The range a driver-mapped buffer, or one page of it, covers. */
function driverRange(w: World, buf: string, page: number | undefined): { iova: number; pa: number; size: number; what: string } {
  const b = w.buffer(buf);
  const off = (page ?? 0) * SCENARIO_PAGE;
  return { iova: b.phys + off, pa: b.phys + off, size: page === undefined ? w.size : SCENARIO_PAGE,
           what: page === undefined ? `'${buf}'` : `page ${page} of '${buf}'` };
}

function iommuMapStep(w: World, cpuName: string, buf: string, page: number | undefined): Step {
  const cpu = w.cpuOf.get(cpuName)!;
  const r0 = driverRange(w, buf, page);
  return {
    kind: "action", label: `iommu_map(${r0.what})`, footprint: driverMapFootprint(buf, w.bufs), run: () => {
      const r = driverRange(w, buf, page);
      const b = w.buffer(buf);
      if (b.iova === 0) {
        const first = r.iova / SCENARIO_PAGE;
        w.dom.iova.reserve(first, first + w.size / SCENARIO_PAGE - 1);
      }
      const rc = w.sim.core.raw.dma_driver_map(w.dom.id, cpu, r.iova, r.pa, r.size);
      if (isErrno(w.sim.core, rc, "EEXIST")) {
        // A broken promise only if an unmap said the page was gone; else the driver's own mistake.
        const by = w.unmapReported.get(`${buf}#${page ?? 0}`);
        if (by) {
          w.pending = `iommu_map of IOVA ${hex(r.iova)} (${r.what}) on CPU ${cpuName} failed with -EEXIST and io-pgtable's ` +
            `"already mapped" WARN: the page is still mapped, although CPU ${by}'s iommu_unmap of it returned success`;
        }
        return `-EEXIST: IOVA ${hex(r.iova)} is still mapped`;
      }
      checkCore(w.sim.core, rc, `explore: iommu_map of ${r.what}`);
      b.iova = b.phys;
      return `IOVA ${hex(r.iova)} → PA ${hex(r.pa)}, ${r.size / 1024} KiB`;
    },
  };
}

function iommuUnmapSteps(w: World, cpuName: string, buf: string, page: number | undefined): Step[] {
  const cpu = w.cpuOf.get(cpuName)!;
  const raw = w.sim.core.raw;
  const id = w.dom.id;
  const what = driverRange(w, buf, page).what;
  const [walk, install, sync] = driverUnmapFootprints(cpuName, buf, w.bufs);
  return [
    { kind: "action", label: `iommu_unmap(${what}): walk; a block to split gets its new table built`, footprint: walk, run: () => {
      if (w.buffer(buf).iova === 0) throw new ArgumentError("iommuUnmap", buf, "is not mapped by the driver (iommuMap it first)", "scenario");
      const r = driverRange(w, buf, page);
      checkCore(w.sim.core, raw.dma_driver_unmap_prepare(id, cpu, r.iova, r.size), `explore: iommu_unmap of ${r.what}`);
    } },
    { kind: "action", label: `iommu_unmap(${what}): install the split table (cmpxchg), or clear the PTEs`, footprint: install, run: () => {
      const n = checkCore(w.sim.core, raw.dma_driver_unmap_finish(id, cpu), `explore: iommu_unmap of ${what}`);
      return `${n} bytes unmapped`;
    } },
    { kind: "action", label: `iommu_unmap(${what}): iotlb_sync (TLBI + CMD_SYNC), return`, footprint: sync, run: () => {
      const n = checkCore(w.sim.core, raw.dma_driver_unmap_sync(id, cpu), `explore: iommu_unmap of ${what}`);
      if (n > 0) w.unmapReported.set(`${buf}#${page ?? 0}`, cpuName);
      return `returned ${n}${n > 0 ? " (success: the device can no longer reach it)" : ""}`;
    } },
  ];
}

// ── the flush queue's timer callback and its teardown (assembly/iova/fq.ts) ──────

function fqTimeoutSteps(w: World, cpuName: string): Step[] {
  const cpu = w.cpuOf.get(cpuName)!;
  const raw = w.sim.core.raw;
  const id = w.dom.id;
  const fire: Step = {
    kind: "action", label: "FQ timer fires: fq_flush_timeout starts (timer_on = 0) and flushes the IOTLB",
    footprint: fqTimerFootprint(), run: () => {
      const fired = checkCore(w.sim.core, raw.dma_fq_timer_fire(id, cpu), "explore: the FQ timer");
      return fired ? "callback running; flush-all sent and waited for" : "not pending (deleted): the callback does not run";
    },
  };
  const rings = Array.from({ length: w.fqRings() }, (_, ring): Step => ({
    kind: "action", label: `FQ timer callback: release scan of CPU ${w.nameOf(ring)}'s ring${ring === w.fqRings() - 1 ? ", return" : ""}`,
    footprint: fqReleaseFootprint(), run: () => {
      const rc = raw.dma_fq_timer_release(id, cpu, ring);
      if (isErrno(w.sim.core, rc, "ESIM_FQ_FREED")) {
        w.pending = `fq ring accessed after free: the FQ timer callback on CPU ${cpuName} scanned CPU ${w.nameOf(ring)}'s ring, ` +
          "which teardown had freed under it (the ring's memory holds the free poison " +
          `${hex(w.sim.core.layout.FQ_POISON_WORD)}) — teardown did not wait for the running callback`;
        return "the ring's memory is freed (poisoned)";
      }
      if (isErrno(w.sim.core, rc, "ESIM_NO_QUEUE")) {
        w.pending = `fq ring accessed after free: the FQ timer callback on CPU ${cpuName} went on to CPU ${w.nameOf(ring)}'s ring ` +
          "after teardown had freed the queue and cleared its pointer — a NULL per-CPU pointer dereference";
        return "the queue is gone (pointer cleared)";
      }
      const n = checkCore(w.sim.core, rc, "explore: the FQ timer callback");
      return `${n} entr${n === 1 ? "y" : "ies"} released into CPU ${cpuName}'s rcache`;
    },
  }));
  return [fire, ...rings];
}

function fqTeardownSteps(w: World): Step[] {
  const raw = w.sim.core.raw;
  const L = w.sim.core.layout;
  const id = w.dom.id;
  const step = (which: number, label: string, note?: string, blocked?: () => string | undefined): Step => ({
    kind: "action", label, footprint: fqTeardownFootprint(which === L.FQT_CANCEL ? "cancel" : which === L.FQT_DESTROY ? "destroy" : "free"),
    ...(blocked ? { blocked } : {}),
    run: () => { checkCore(w.sim.core, raw.dma_fq_teardown_step(id, which), `explore: ${label}`); return note; },
  });
  const waits = () => checkCore(w.sim.core, raw.dma_fq_teardown_must_wait(id), "explore: FQ teardown") === 1
    ? "del_timer_sync: the FQ timer callback is running on another CPU, and teardown waits until it returns" : undefined;
  return [
    step(L.FQT_CANCEL, "FQ teardown: cancel the timer", "timer_on cleared; deleted if pending", waits),
    step(L.FQT_DESTROY, "FQ teardown: run the destructor of every pending entry (IOVAs not freed)"),
    step(L.FQT_FREE, "FQ teardown: free the rings (poisoned)"),
    step(L.FQT_DETACH, "FQ teardown: clear the queue's pointer"),
  ];
}

// ── a device probing: iommu_dma_init_domain's IOVA part (assembly/dma/probe.ts) ───

function probeSteps(w: World, cpuName: string): Step[] {
  const cpu = w.cpuOf.get(cpuName)!;
  const raw = w.sim.core.raw;
  const id = w.dom.id;
  const core = w.sim.core;
  const [lockFp, testFp, initFp, unlockFp] = probeFootprints();
  const waits = () => checkCore(core, raw.dma_probe_must_wait(id, cpu), "explore: probe") === 1
    ? `mutex_lock(&cookie->mutex): CPU ${w.probeHolder ?? "?"} holds it, initialising the domain` : undefined;
  const region = PROBE_RESERVED_REGION;
  return [
    { kind: "action", label: "iommu_dma_init_domain: mutex_lock(&cookie->mutex)", footprint: lockFp, blocked: waits, run: () => {
      if (checkCore(core, raw.dma_probe_lock(id, cpu, 1), "explore: probe") === 0) return "no cookie mutex in this kernel (before ac9a5d522bb8)";
      w.probeHolder = cpuName;
      return "taken";
    } },
    { kind: "action", label: "read iovad->start_pfn: initialised already?", footprint: testFp, run: () => {
      const done = checkCore(core, raw.dma_probe_initialised(id), "explore: probe") === 1;
      w.probeSawInitialised.set(cpuName, done);
      return done ? "start_pfn set: initialised already, nothing to do" : "start_pfn 0: not initialised yet";
    } },
    { kind: "action", label: "init_iova_domain and reserve the IOMMU's reserved region (if it read 0)", footprint: initFp, run: () => {
      if (w.probeSawInitialised.get(cpuName)) return "skipped";
      const before = checkCore(core, raw.dma_probe_initialised(id), "explore: probe") === 1;
      checkCore(core, raw.dma_probe_init(id, 1), "explore: init_iova_domain");
      const lost = checkCore(core, raw.dma_iova_lost_nodes(id), "explore: init_iova_domain");
      const shift = Math.log2(w.dom.granule);
      checkCore(core, raw.dma_probe_reserve(id, region.base >> shift, (region.base + region.size - 1) >> shift), "explore: reserve_iova");
      if (before) {
        w.pending = `init_iova_domain ran twice on one cookie's IOVA domain: CPU ${cpuName} read start_pfn 0 and ` +
          `initialised the domain, which ${w.probeInitialisedBy ?? "another CPU"} had initialised since — the tree reset under it` +
          (lost ? `, ${lost} range node(s) dropped from the tree and leaked (the reserved region [${hex(region.base)}, ` +
            `${hex(region.base + region.size - 1)}] went with them until re-reserved)` : "");
      }
      w.probeInitialisedBy ??= `CPU ${cpuName}`;
      return `initialised (start_pfn 1), reserved [${hex(region.base)}, ${hex(region.base + region.size - 1)}]`;
    } },
    { kind: "action", label: "mutex_unlock(&cookie->mutex)", footprint: unlockFp, run: () => {
      checkCore(core, raw.dma_probe_lock(id, cpu, 0), "explore: probe");
      if (w.probeHolder === cpuName) w.probeHolder = undefined;
    } },
  ];
}

function opSteps(w: World, cpuName: string, op: ScenarioOp, variant: ResolvedVariant): Step[] {
  if ("map" in op) return [mapStep(w, cpuName, op.map)];
  if ("unmap" in op) return unmapSteps(w, cpuName, op.unmap, variant);
  if ("switch" in op) return switchSteps(w, variant);
  if ("iommuMap" in op) return [iommuMapStep(w, cpuName, op.iommuMap, op.page)];
  if ("iommuUnmap" in op) return iommuUnmapSteps(w, cpuName, op.iommuUnmap, op.page);
  if ("fqTimeout" in op) return fqTimeoutSteps(w, cpuName);
  if ("fqTeardown" in op) return fqTeardownSteps(w);
  if ("probe" in op) return probeSteps(w, cpuName);
  if ("newCookie" in op) {
    return [{ kind: "action", label: "the group's new DMA cookie: its IOVA domain not initialised", run: () => {
      checkCore(w.sim.core, w.sim.core.raw.dma_probe_init(w.dom.id, 0), "explore: newCookie");
    } }];
  }
  return [accessStep(w, op.access, op.kind ?? "write", op.page)];
}

function setupUnmap(w: World, cpu: number, buf: string): void {
  const b = w.buffer(buf);
  if (b.iova === 0) throw new ArgumentError("setup unmap", buf, "is not mapped (map it earlier in the setup)", "scenario");
  w.dev.unmap(b.iova, w.size, { cpu });
}

/**
 * The modelled words (fq_domain, fq, quirk) after the scenario's setup, run in order as the
 * explorer runs it: a switch in the setup leaves the queue built and fq_domain (and perhaps
 * the quirk) set. The program starts from them (and so does its litmus export).
 */
export function initialState(sc: Scenario, v: ResolvedVariant): Record<VariantWord, number> {
  const mem: Record<VariantWord, number> = { fq_domain: 0, fq: 0, quirk: 0 };
  for (const op of sc.setup ?? []) {
    if (!("switch" in op) && !("unmap" in op)) continue;
    const seq = "switch" in op ? v.switch : v.unmap;
    const regs: Record<string, number> = {};
    for (const s of seq.steps) {
      if (s.guard && ((regs[s.guard.local] ?? 0) !== 0) === s.guard.negate) continue;
      if (s.kind === "load") regs[s.out!] = mem[s.var!];
      if (s.kind === "store") mem[s.var!] = 1;
    }
  }
  return mem;
}

// ── building ──────────────────────────────────────────────────────────────────

export interface BuiltScenario {
  program: Program;
  reset(): void;
  check(): string | undefined;
  close(): Promise<void>;
  /** The variant it runs, resolved. */
  variant: ResolvedVariant;
  /** The simulation behind it, for inspection after a run. */
  domain: DmaDomain;
  simulator: Simulator;
}

export interface BuildOptions {
  /** Overrides the scenario's variant. */
  variant?: SeedVariant | VariantDefinition | ResolvedVariant;
  /** Judge device accesses with the safety oracle (default true). Without it nothing is caught. */
  oracle?: boolean;
  /** Overrides the scenario's SMMU model. */
  smmu?: SmmuModel;
}

const BUILD_OPTION_KEYS = { variant: true, oracle: true, smmu: true } as const satisfies OptionKeys<BuildOptions>;

const SCENARIO_KEYS = {
  name: true, profile: true, behaviours: true, variant: true, bufferSize: true, smmu: true, setup: true, threads: true,
} as const satisfies OptionKeys<Scenario>;
/** The fields each kind of operation may have (its own key first). */
const OP_KEYS: Record<string, readonly string[]> = {
  map: ["map", "cpu"], unmap: ["unmap"], switch: ["switch"], access: ["access", "kind", "page"],
  iommuMap: ["iommuMap", "page", "cpu"], iommuUnmap: ["iommuUnmap", "page"], fqTimeout: ["fqTimeout"], fqTeardown: ["fqTeardown"],
  probe: ["probe"], newCookie: ["newCookie"],
};
const OP_NAMES = Object.keys(OP_KEYS);

/**
 * Check an explore scenario (the seed-race shape: threads of DMA-API operations) and
 * return it typed; a bad one is an ArgumentError naming the field, `where` saying whose.
 */
export function validateScenario(s: unknown, where = "scenario"): Scenario {
  const fail = (field: string, v: unknown, why: string): never => { throw new ArgumentError(field, v, why, where); };
  if (typeof s !== "object" || s === null || Array.isArray(s)) fail("scenario", s, "must be an object");
  // Unknown fields are refused: a misspelt "varient" would otherwise explore the merged code.
  checkOptions(s as Scenario, SCENARIO_KEYS, where, "", "field");
  const sc = s as Scenario;
  if (sc.name !== undefined && (typeof sc.name !== "string" || !/^[^@[\]\p{Cc}]+$/u.test(sc.name))) {
    // The name heads the replay line, NAME@VARIANT@MODEL: steps, with [what the run changed] after it.
    fail("name", sc.name, "must be a non-empty string without '@', '[', ']' or control characters (it heads the replay line, NAME@VARIANT@MODEL: steps)");
  }
  if (sc.profile !== undefined && !PROFILES.includes(sc.profile)) {
    fail("profile", sc.profile, `must be one of ${PROFILES.map((p) => `'${p}'`).join(", ")}`);
  }
  checkBehaviourOverrides(sc.profile ?? "5.15", sc.behaviours, where);
  if (typeof sc.variant === "string" && !SEED_VARIANTS.includes(sc.variant as SeedVariant)) {
    fail("variant", sc.variant, `must be one of ${SEED_VARIANTS.join(", ")}, or a variant definition { "switch": [steps], "unmap": [steps] }`);
  }
  if (sc.variant !== undefined && typeof sc.variant !== "string") parseVariant(sc.variant, where, "variant.");
  if (sc.smmu !== undefined && !SMMU_MODELS.includes(sc.smmu)) {
    fail("smmu", sc.smmu, `must be one of ${SMMU_MODELS.map((m) => `'${m}'`).join(", ")}`);
  }
  if (typeof sc.threads !== "object" || sc.threads === null || Array.isArray(sc.threads) || Object.keys(sc.threads).length === 0) {
    fail("threads", sc.threads, "must map thread names to lists of operations");
  }
  if (sc.bufferSize !== undefined && (!Number.isInteger(sc.bufferSize) || sc.bufferSize < 1 || sc.bufferSize > 1 << 30)) {
    fail("bufferSize", sc.bufferSize, "must be a whole number of bytes, 1 … 1 GiB");
  }
  const checkOp = (op: unknown, at: string) => {
    if (typeof op !== "object" || op === null || Array.isArray(op)) fail(at, op, "must be an operation object");
    const o = op as Record<string, unknown>;
    const keys = OP_NAMES.filter((k) => k in o);
    if (keys.length !== 1) fail(at, op, `must have exactly one of ${OP_NAMES.join(", ")}`);
    const k = keys[0]!;
    checkOptions(o, OP_KEYS[k]!, where, at, "field");
    if ("cpu" in o && !at.startsWith("setup")) {
      fail(`${at}.cpu`, o.cpu, "is only for setup operations (a thread's operations run on that thread's CPU)");
    }
    if ("cpu" in o && (typeof o.cpu !== "string" || !Object.hasOwn(sc.threads, o.cpu))) {
      fail(`${at}.cpu`, o.cpu, `must be one of the threads (${Object.keys(sc.threads).join(", ")})`);
    }
    if (k === "switch" && o.switch !== "lazy") fail(`${at}.switch`, o.switch, "must be 'lazy' (only strict → lazy happens on a live domain)");
    const flag = k === "fqTimeout" || k === "fqTeardown" || k === "probe" || k === "newCookie";
    if (flag && o[k] !== true) fail(`${at}.${k}`, o[k], "must be true");
    if (k === "newCookie" && !at.startsWith("setup")) fail(at, op, "newCookie belongs in setup (the cookie as a new group has it)");
    const named = k !== "switch" && !flag;
    if (named && (typeof o[k] !== "string" || (o[k] as string).length === 0)) fail(`${at}.${k}`, o[k], "must name a buffer");
    if ("kind" in o && o.kind !== "read" && o.kind !== "write") fail(`${at}.kind`, o.kind, "must be 'read' or 'write'");
    const pages = Math.max(1, Math.floor((sc.bufferSize ?? 256 * 1024) / SCENARIO_PAGE));
    if ("page" in o && (!Number.isInteger(o.page) || (o.page as number) < 0 || (o.page as number) >= pages)) {
      fail(`${at}.page`, o.page, `must be a page number of the buffer, 0 … ${pages - 1} (${SCENARIO_PAGE}-byte pages of bufferSize)`);
    }
  };
  for (const [name, ops] of Object.entries(sc.threads)) {
    if (!isThreadName(name)) fail(threadPath(name), name, `has a key that is not a CPU name: a thread's name ${THREAD_NAME_RULE}`);
    if (!Array.isArray(ops) || ops.length === 0) fail(threadPath(name), ops, "must be a non-empty list of operations");
    ops.forEach((op, i) => checkOp(op, `${threadPath(name)}[${i}]`));
  }
  if (sc.setup !== undefined && !Array.isArray(sc.setup)) fail("setup", sc.setup, "must be a list of operations");
  (sc.setup ?? []).forEach((op, i) => checkOp(op, `setup[${i}]`));
  checkBufferUse(sc, fail);
  return sc;
}

/** A thread's field path: threads.B, or threads["bad name!"] for a key that is not a plain word. */
function threadPath(name: string): string {
  return formatPath(["threads", name]);
}

/** A buffer-naming operation and its path in the scenario. */
interface PlacedOp { op: ScenarioOp; at: string }

function bufferOf(op: ScenarioOp): string | undefined {
  return "map" in op ? op.map : "unmap" in op ? op.unmap : "access" in op ? op.access
    : "iommuMap" in op ? op.iommuMap : "iommuUnmap" in op ? op.iommuUnmap : undefined;
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;

/**
 * Refuses a scenario that some order of its threads would run on a buffer it does not have:
 * an access or an iommuUnmap of a buffer with no IOVA yet (not given one in the setup or
 * earlier on that CPU — another CPU's map may come after it), and a dma_unmap of a buffer
 * more times than it is mapped (a second free of one IOVA, which the oracle would then blame
 * on the kernel). The worst order for an unmap runs, of every other thread, the prefix that
 * unmaps the most more than it maps.
 */
function checkBufferUse(sc: Scenario, fail: (field: string, v: unknown, why: string) => never): void {
  const given = new Set<string>();
  // Per buffer, the maps and unmaps that run before the threads start (the setup's), by path.
  const maps = new Map<string, string[]>();
  const unmaps = new Map<string, string[]>();
  const add = (m: Map<string, string[]>, b: string, at: string) => m.set(b, [...m.get(b) ?? [], at]);
  const needsIova = (p: PlacedOp, b: string, has: ReadonlySet<string>, where: string) => {
    if (("access" in p.op || "iommuUnmap" in p.op) && !has.has(b)) {
      fail(`${p.at}.${"access" in p.op ? "access" : "iommuUnmap"}`, b, `names a buffer with no IOVA yet: map (or iommuMap) it ${where}`);
    }
  };
  (sc.setup ?? []).forEach((op, i) => {
    const b = bufferOf(op);
    const p = { op, at: `setup[${i}]` };
    if (b === undefined) return;
    needsIova(p, b, given, "earlier in the setup");
    if ("map" in op) add(maps, b, p.at);
    if ("map" in op || "iommuMap" in op) given.add(b);
    if ("unmap" in op) {
      add(unmaps, b, p.at);
      checkUnmapCount(p, b, maps.get(b) ?? [], unmaps.get(b)!, "in the setup", fail);
    }
  });
  const threads = Object.entries(sc.threads).map(([name, ops]) => ops.map((op, i): PlacedOp => ({ op, at: `${threadPath(name)}[${i}]` })));
  for (const ops of threads) {
    const has = new Set(given);
    for (const p of ops) {
      const b = bufferOf(p.op);
      if (b === undefined) continue;
      needsIova(p, b, has, "in the setup or earlier in this thread (in some order of the threads this runs before any other CPU's map)");
      if ("map" in p.op || "iommuMap" in p.op) has.add(b);
    }
  }
  for (const b of new Set(threads.flat().flatMap((p) => "unmap" in p.op ? [p.op.unmap] : []))) {
    const mapped = [...maps.get(b) ?? []];
    const unmapped = [...unmaps.get(b) ?? []];
    for (const ops of threads) {
      // This thread's prefix with the most unmaps over maps, ending at an unmap (or empty).
      let best = 0, end = 0, net = 0;
      ops.forEach((p, i) => {
        if (bufferOf(p.op) !== b) return;
        net += "unmap" in p.op ? 1 : "map" in p.op ? -1 : 0;
        if ("unmap" in p.op && net > best) { best = net; end = i + 1; }
      });
      for (const p of ops.slice(0, end)) {
        if (bufferOf(p.op) === b && "map" in p.op) mapped.push(p.at);
        if (bufferOf(p.op) === b && "unmap" in p.op) {
          unmapped.push(p.at);
          checkUnmapCount(p, b, mapped, unmapped, "in some order of the threads", fail);
        }
      }
    }
  }
}

function checkUnmapCount(p: PlacedOp, b: string, mapped: readonly string[], unmapped: readonly string[], when: string,
                         fail: (field: string, v: unknown, why: string) => never): void {
  if (unmapped.length <= mapped.length) return;
  fail(`${p.at}.unmap`, b, mapped.length === 0
    ? `unmaps a buffer that is not mapped before it ${when}: map it ${when === "in the setup" ? "earlier in the setup" : "in the setup or earlier in this thread"}`
    : `unmaps a buffer more times than it is mapped: ${when} it is unmapped ${plural(unmapped.length, "time")} ` +
      `(${unmapped.join(", ")}) but mapped ${plural(mapped.length, "time")} (${mapped.join(", ")}) — a dma_unmap of an IOVA already freed`);
}

/** Build the simulation and the program of a scenario. */
export async function buildScenario(scenario: Scenario, options: BuildOptions = {}): Promise<BuiltScenario> {
  const sc = validateScenario(scenario);
  const opts = checkOptions(options, BUILD_OPTION_KEYS, "buildScenario");
  checkBool("oracle", opts.oracle, true, "buildScenario");
  const variant = resolveVariant(opts.variant ?? sc.variant ?? "merged", "buildScenario");
  const names = Object.keys(sc.threads);
  // Small memories keep each schedule's restore cheap; kheap holds the oracle's shadow, the
  // IOVA domain and the flush queue the switch builds (1 MiB was too little for the queue).
  const sim = await Simulator.create({ profile: sc.profile ?? "5.15", behaviours: sc.behaviours, ramMiB: 1, kheapMiB: 2 });
  try {
    const oracle = opts.oracle ?? true;
    const model = opts.smmu ?? sc.smmu ?? "v3";
    if (!SMMU_MODELS.includes(model)) throw new ArgumentError("smmu", model, `must be one of ${SMMU_MODELS.join(", ")}`, "buildScenario");
    const smmu = sim.createSmmu({ model, oracle: oracle ? { capacity: 4096, violations: 256 } : false });
    const dom = sim.createDmaDomain({ smmu, cpus: names.length, variant: variant.definition });
    const dev = dom.attachDevice({ streamId: 1, dmaMask: 64, bus: "pci" });
    const cpuOf = new Map(names.map((n, i) => [n, i]));
    const w = new World(sim, smmu, dom, dev, cpuOf, sc.bufferSize ?? 256 * 1024, oracle, Buffers.of(sc));
    for (const op of sc.setup ?? []) {
      // validateScenario has checked that a setup op's cpu names a thread.
      const cpu = ("map" in op || "iommuMap" in op) ? op.cpu ?? names[0]! : names[0]!;
      // An unmap in the setup is the whole dma_unmap as the core runs it: strict or lazy as the
      // domain is by then (its steps' loads are the model's, which the setup does not run).
      if ("unmap" in op) setupUnmap(w, cpuOf.get(cpu)!, op.unmap);
      else for (const step of opSteps(w, cpu, op, variant)) step.run?.({}, 0);
    }
    if (w.check()) throw new IommuSimError("iommu-sim: the scenario's setup already violates the oracle");
    w.freeze();
    const threads: Thread[] = names.map((n) => ({ name: n, steps: sc.threads[n]!.flatMap((op) => opSteps(w, n, op, variant)) }));
    return {
      program: { threads, init: initialState(sc, variant) },
      reset: () => w.reset(),
      check: () => w.check(),
      close: () => sim.close(),
      variant,
      domain: dom,
      simulator: sim,
    };
  } catch (e) {
    await sim.close();
    throw e;
  }
}

