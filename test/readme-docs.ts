// The parts of the README that are made from the code, so that they cannot drift from it:
// the table of scenario fields (types and defaults from the scenario schema, meanings from
// FIELD_MEANINGS below). test/readme.test.ts checks the README against what this renders,
// and rewrites it with UPDATE_README=1.

import type { ScenarioFieldDoc } from "../src/run/scenario.js";

/**
 * What each field of a run scenario means. A key is a field's path with `[]` for any element
 * (`domains[].granule`), or with the kinds it belongs to (`workloads[attacker].ops`) where
 * the field means something else for some kinds. Every field needs one, and every key must
 * be a field (checked).
 */
export const FIELD_MEANINGS: Record<string, string> = {
  name: "The scenario's name, shown in the summary and the report.",
  description: "One line on what it runs (`iommu-sim list` shows it for the built-in ones).",
  profile: "The kernel whose IOMMU code runs (see Kernel profiles).",
  behaviours: "The profile's behaviours changed by name, for the whole machine (see Kernel profiles: one behaviour changed).",
  "behaviours.with": "Behaviours the profile lacks, added.",
  "behaviours.without": "Behaviours the profile has, removed (a fix's buggy form).",
  machine: "A machine preset: its CPU and SMMU costs and its range invalidation; what the file gives itself wins.",
  seed: "Seed of every random choice (sizes, addresses). One worker and one seed give the same report every time, apart from its wall-clock `timing`.",
  workers: "Worker threads the simulated CPUs are spread over; at most as many as the CPUs the workloads use. `run --workers` overrides it.",
  cpus: "Simulated CPUs: every domain gets this many per-CPU IOVA caches and flush-queue rings; workloads run on CPUs 0..cpus−1.",
  smmu: "The SMMU model's settings; what is left out takes the model's defaults.",
  "smmu.model": "The SMMU's architecture, and so which driver's invalidations its domains make: `v3` (the model's default; commands through a queue), `v2` (MMU-500: TLB-maintenance registers of context banks, TLBSYNC + TLBSTATUS; [the SMMU v1/v2 model](#the-smmu-v1v2-model-mmu-500)) or `v1`.",
  "smmu.iotlb": "The IOTLB (set-associative, tagged by ASID/VMID). The model's default: 2048 entries, 4 ways, round-robin, a main TLB per device (gem5's).",
  "smmu.iotlb.entries": "Entries in all (with scope `device`, of each device's main TLB).",
  "smmu.iotlb.ways": "Ways per set; no more than `entries`, and with 65536 entries at least 4: a cache is one block of at most 4 MiB, a 64-byte line a set besides its entries.",
  "smmu.iotlb.policy": "Replacement: least recently used, round-robin, or seeded random.",
  "smmu.iotlb.scope": "Where it sits: `device` (the model's default) — each device has a main TLB of its own, as each TBU of an MMU-600/700 does and gem5 models by default; `smmu` — one IOTLB every device shares, so one device's fill serves another's translation of the same address (and a stale entry one device left, any device of the context).",
  "smmu.walkCache": "Walk-cache entries for levels 0–3 (0: that level is not cached). The model's default: gem5's stage-1 `[4, 28, 348, 4]`.",
  "smmu.microTlb": "Entries of each device's micro-TLB (fully associative; 0: none). The model's default: 32.",
  "smmu.walkers": "Table walks the SMMU runs at once. With `contention`, a TLB miss that finds every walker busy waits for one (the report's SMMU section counts them); without, walks never wait. The model's default: 16 (gem5's walk slots).",
  "smmu.invalidateAt": "When a TLBI takes effect: when the SMMU consumes it (the model's default), or only at the next CMD_SYNC (SMMU v1/v2: the next TLBSYNC of its context bank, or sTLBGSYNC for a global TLBI).",
  "smmu.ttl": "Whether a TLBI's TTL hint narrows what it removes: `ignore` (the model's default) or `honour`.",
  "smmu.costs": "Modelled costs in ns (the model's defaults: `DEFAULT_COSTS`; a `machine` brings its own).",
  "smmu.costs.pteRead": "One descriptor read by the table walker.",
  "smmu.costs.iotlbHit": "An IOTLB lookup that hits.",
  "smmu.costs.iotlbMiss": "An IOTLB lookup that misses (the walk is charged per descriptor read).",
  "smmu.costs.walkCacheHit": "A walk-cache hit.",
  "smmu.costs.microTlbHit": "A micro-TLB hit.",
  "smmu.costs.tlbi": "The SMMU consuming one invalidation command.",
  "smmu.costs.sync": "One CMD_SYNC on an idle queue, all in: at least cmdqClaim + mmio + syncWake (a `machine`'s costs, the file's own over them).",
  "smmu.costs.cmdqClaim": "Claiming command-queue space, uncontended.",
  "smmu.costs.cmdqSpin": "What each other CPU spinning on the queue's `prod` adds to a claim.",
  "smmu.costs.cmdqSpinMax": "Spinners beyond this many add nothing (a count, not ns).",
  "smmu.costs.mmio": "The queue owner's MMIO write of `prod`.",
  "smmu.costs.syncWake": "A CPU noticing that its CMD_SYNC completed (polling or a wake-up).",
  "smmu.costs.regWrite": "SMMU v1/v2: the CPU's write of one TLB-maintenance or sync register.",
  "smmu.costs.statusPoll": "SMMU v1/v2: one read of TLBSTATUS / sTLBGSTATUS while waiting for a sync.",
  "smmu.costs.tlbSync": "SMMU v1/v2: a TLBSYNC completing with nothing outstanding (each TLBI written since the last adds `tlbi`).",
  "smmu.injectDroppedInvalidations": "Fault injection for testing checkers: a broken SMMU whose TLBIs invalidate nothing.",
  domains: "The DMA domains (one IOMMU group each), each with its own page table and IOVA allocator.",
  "domains[].name": "The name devices, workloads and events refer to.",
  "domains[].type": "`DMA` is strict (every unmap invalidates and syncs), `DMA-FQ` lazy (the flush queue).",
  "domains[].format": "The page-table format; dma-iommu on an SMMUv3 uses stage-1 LPAE.",
  "domains[].granule": "The page-table granule in bytes.",
  "domains[].ias": "Input (IOVA) address bits.",
  "domains[].oas": "Output (physical) address bits.",
  "domains[].variant": "Which code runs the unmap and the live switch: a seed variant, or your own (see Your own code variant).",
  "domains[].fqMode": "The flush queue: a ring per CPU, or (profiles with `DMA_FQ_SINGLE`) one shared queue.",
  "domains[].forcedac": "`iommu.forcedac=1`: no 32-bit-first attempt for PCI devices.",
  "domains[].deferTableFree": "A lazy unmap's freed table pages wait in the flush queue too.",
  "domains[].magazineSize": "IOVA_MAG_SIZE, PFNs per rcache magazine, when not the profile's (128 on 5.15, 127 from 6.7): a what-if.",
  "domains[].rangeInvalidation": "The SMMU has range invalidation (RIL). Default: the `machine`'s, else true.",
  devices: "The devices, each attached to a domain.",
  "devices[].name": "The name workloads refer to.",
  "devices[].domain": "The domain the device is attached to.",
  "devices[].streamId": "Its SMMU stream ID, unique per device.",
  "devices[].dmaMask": "Bits of its DMA mask.",
  "devices[].bus": "`pci` devices get the 32-bit-first IOVA attempt; `platform` devices do not.",
  "devices[].coherent": "Whether its DMA is cache-coherent.",
  workloads: "What the simulated CPUs do, one workload per set of CPUs (see Workloads).",
  "workloads[].name": "The name attackers and events refer to. Default: the kind and the workload's index (`nic-rx0`).",
  "workloads[].device": "The device whose driver the workload is.",
  "workloads[attacker].device": "The victim's device (it may be left out; another device is refused).",
  "workloads[].cpus": "The simulated CPUs it runs on, each used by no other workload; an attacker or a switcher has one.",
  "workloads[].ops": "Operations per CPU.",
  "workloads[attacker].ops": "Operations; left out: for as long as its victim runs.",
  "workloads[switcher].ops": "Rounds; left out: for as long as the workloads mapping in its domain run.",
  "workloads[].worker": "The worker thread that runs its CPUs. Default: CPUs are dealt round-robin over the workers.",
  "workloads[].ring": "Descriptors in the ring.",
  "workloads[].bufferBytes": "Bytes of each receive buffer.",
  "workloads[].minBytes": "Smallest mapping (or packet, or segment), bytes.",
  "workloads[].maxBytes": "Largest, bytes; at least `minBytes`.",
  "workloads[].queueDepth": "Requests in flight.",
  "workloads[].segments": "Most segments per request.",
  "workloads[].live": "Mappings kept live at once.",
  "workloads[].victim": "The workload (one that maps) whose unmapped IOVAs the attacker keeps and reads again.",
  "workloads[].keep": "Old IOVAs it keeps and retries.",
  "workloads[].domain": "The domain it switches.",
  "workloads[].gap": "Spins (about a nanosecond each) it waits with the domain strict, and again with it lazy.",
  events: "Things that happen during the run, each on one CPU (see Events).",
  "events[].at": "When: after a fraction or a number of the CPU's own operations, or at a modelled time on its clock; exactly one of the three.",
  "events[].at.fraction": "Of the CPU's operations (not for a CPU running an attacker or a switcher).",
  "events[].at.ops": "After this many of the CPU's operations.",
  "events[].at.timeMs": "At this modelled time (ms) on the CPU's clock.",
  "events[].cpu": "The CPU whose progress times the event, and that runs it. Default: the first CPU of the first workload that maps.",
  "events[].domain": "The domain it acts on.",
  "events[].count": "Operations of the event's CPU for which the domain's allocations of new magazines fail (failatomic; a CPU that ends sooner leaves them failing to the end of the run).",
  "events[].mode": "How the worker fails: throws, stops the run and exits, or exits at once without a word (tests only).",
  checks: "What the run checks and expects.",
  "checks.oracle": "The safety oracle judges every device access.",
  "checks.stopOnViolation": "Stop every CPU at the first violation the oracle finds (so it needs `checks.oracle`; without the oracle only an unmap that found its flush queue missing makes the outcome violations, and that stops nothing).",
  "checks.expect": "The outcome the scenario expects (\"clean\": no violation, and no unmap that found its flush queue missing); anything else, or an event that failed, exits 1.",
  contention: "CPUs contend in modelled time for the command queue, the IOVA locks and shared PTE lines (not with an attacker or a switcher).",
  timeoutMs: "Wall-clock limit of the run in ms; a run cut short exits 2.",
};

/** A row of the rendered table: fields the same for several kinds are one row. */
interface Row { path: string; type: string; required: boolean; default?: string; meaningKey: string }

/**
 * Rows for the README: a field that several kinds of workload (or event) have alike is one
 * row, `workloads[].ops` for every kind, `workloads[attacker|switcher].ops` for some.
 */
export function scenarioRows(fields: ScenarioFieldDoc[]): Row[] {
  const rows: Row[] = [];
  const kinds = new Map<string, Set<string>>();
  for (const f of fields) {
    const m = /^(\w+)\[([a-z-]+)\]/.exec(f.path);
    if (m) (kinds.get(m[1]!) ?? kinds.set(m[1]!, new Set()).get(m[1]!)!).add(m[2]!);
  }
  const grouped = new Map<string, { base: string; rest: string; tags: string[]; f: ScenarioFieldDoc }>();
  for (const f of fields) {
    const m = /^(\w+)\[([a-z-]+)\]\.(.+)$/.exec(f.path);
    if (!m) {
      rows.push({ ...f, meaningKey: f.path });
      continue;
    }
    const [, base, tag, rest] = m as unknown as [string, string, string, string];
    // Kinds share a row when the field is the same for them, meaning included.
    const key = JSON.stringify([base, rest, f.type, f.required, f.default ?? null, FIELD_MEANINGS[`${base}[${tag}].${rest}`] ?? null]);
    const g = grouped.get(key);
    if (g) g.tags.push(tag);
    else {
      const entry = { base, rest, tags: [tag], f };
      grouped.set(key, entry);
      // Placeholder, filled once every kind has been seen.
      rows.push(entry as unknown as Row);
    }
  }
  return rows.map((r) => {
    if (!("tags" in (r as object))) return r;
    const g = r as unknown as { base: string; rest: string; tags: string[]; f: ScenarioFieldDoc };
    const all = g.tags.length === kinds.get(g.base)!.size;
    const sel = all ? "[]" : `[${g.tags.join("|")}]`;
    const specific = `${g.base}[${g.tags[0]}].${g.rest}`;
    const meaningKey = FIELD_MEANINGS[specific] !== undefined ? specific : `${g.base}[].${g.rest}`;
    return { path: `${g.base}${sel}.${g.rest}`, type: g.f.type, required: g.f.required,
             ...(g.f.default !== undefined ? { default: g.f.default } : {}), meaningKey };
  });
}

/** The README's table of scenario fields, as Markdown lines. */
export function scenarioTable(fields: ScenarioFieldDoc[]): string[] {
  const cell = (s: string) => s.replace(/\|/g, "\\|");
  return [
    "| field | takes | default | meaning |",
    "|---|---|---|---|",
    ...scenarioRows(fields).map((r) => `| \`${cell(r.path)}\` | ${cell(r.type)} | ${
      r.required ? "**required**" : r.default !== undefined ? `\`${cell(r.default)}\`` : "–"} | ${cell(FIELD_MEANINGS[r.meaningKey] ?? "")} |`),
  ];
}
