// DMA API benchmark: dma_map + dma_unmap pairs of 4 KiB buffers, strict (a DMA domain:
// every unmap invalidates its IOTLB entry and waits for CMD_SYNC) against lazy (DMA-FQ:
// unmaps are queued and a flush-all per 255 of them — the full per-CPU ring — covers them),
// one worker and two, for the profile bench/run.mjs asks for. Kernel behaviour followed:
// dma-iommu's map/unmap and flush queue (src/dma.ts, assembly/dma/), as dma_map_benchmark
// drives them (reference §6.4), with the device writing each buffer once through the SMMU
// between its map and its unmap, as a NIC or disk would. Each CPU drives a device of its
// own in the domain (as a multi-queue NIC's functions): one device has one micro-TLB (and
// by default one main TLB), which every access fills, and CPUs sharing a device would be
// measuring that one structure — written by both on every pair — rather than the DMA layer. The flush queue's event log
// is off (nothing reads it here, and every CPU would write its one ring).
//
// Two kinds of number, both per pair:
//   simulator speed — wall-clock pairs per second over all workers, and ns per pair per
//     worker (this machine, inside Wasm, one batched call per run);
//   modelled hardware cost — CPU-side: ns charged to the mapping thread (commands written,
//     CMD_SYNC waits, the kernel's spinlocks: Simulator.cpuModelledNs, DEFAULT_COSTS);
//     SMMU-side: smmu.stats().modelledNs (the device's translations: IOTLB, walks), and the
//     commands and CMD_SYNCs the SMMU consumed.
// Each lazy/strict ratio compares two measurements of the same run, and so does each
// 2-workers/1-worker ratio, printed beside what the machine gave two threads that share nothing
// at that moment and what a cache line costs to move between them (bench/lib/control.mjs): far
// below 2 on a busy host, and then no simulator ratio can be 2 either; and each line both
// workers write per pair costs that move. So the line moves per pair are counted too
// (bench/lib/line-sharing.mjs, not timed) and the ratio they predict printed beside the
// measured one: 2 · t1 / (t1 + moves · handoff), t1 one worker's ns per pair — an estimate from
// the lines alone, each move paid in full (a core overlaps some misses, so the measured ratio
// can beat it; a busy host lowers it). And since a machine's two cores need not be equal (nor
// equally loaded by its neighbours), the same pairs also run on two Simulators of one worker
// each at once: what two workers sharing nothing reach here. One Simulator's two workers over
// that is the share the simulator keeps, whatever the cores; twice it, the ratio two equal
// cores would show. And two workers of one Simulator whose CPUs each map in a domain on an SMMU
// of their own (the same core, memory, pool and loop, none of the kernel's state shared) over
// the same control: the simulator's own share, so that what one domain's two workers keep less
// is the kernel's sharing (which core function pays for it: bench/lib/worker-profile.mjs). And
// two workers whose CPUs each map in a domain of their own on one SMMU, as devices in separate
// IOMMU groups: the command queue shared, and each TLBI reaching the other device, whose caches
// never held its context (0.52 of the control strict on 7.1 while they were probed anyway, 0.95
// since they skip it). Figures are medians of several repetitions after a warm-up, the five
// kinds of run taking turns. The warm-up first runs the CPUs in turns of a few hundred pairs on
// this thread (bench/lib/warm-up.mjs): which page-table lines the CPUs share is decided by how
// their first IOVAs interleave, and left to two free-running workers it came out differently in
// every run. No simulated time passes, so the 10 ms timer never fires: under this load the full
// ring's synchronous flush is what empties the queue. Last, what of that sharing is the
// kernel's own, as the modelled machine pays for it: two dma_map_benchmark threads on a preset
// that costs line transfers, the lines their CPUs move per iteration (the breakdown's
// lineTransfer part) — where the kernel serialises the workers, the modelled CPUs wait for the
// same lines. And on a profile whose IOVA magazines are too small for two of them to hold a
// full flush queue (127 from 6.7), the lazy pairs once more with magazines that do
// (magazineSize, a what-if): the kernel's exchange of IOVAs through the depot taken out, the
// rest of it the same. And on every profile, the lazy pairs with the CPUs' first IOVAs
// interleaved PTE by PTE (warmed up in turns of one pair, as CPUs that start together): what
// that kernel sharing costs.
// Run alone: `node bench/dma.mjs`, or through `npm run bench -- dma`.

import { MACHINES, PROFILES, Simulator, kernelProfile, runMapBenchmark } from "../dist/index.js";
import { FQ_SIZE } from "../build/constants.js";
import { keptText, lineHandoffNs, machineScaling, median, ratioFromMoves } from "./lib/control.mjs";
import { dmaPairsSharing, tracedCore } from "./lib/line-sharing.mjs";
import { inTurns, WARMUP_BURST } from "./lib/warm-up.mjs";

const PAGE = 0x1000;
const PHYS_BASE = 0x1_0000_0000;
const PHYS_PAGES = 1 << 16;

const fmt = (n, d = 0) => n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });

/** The preset whose line transfers the modelled figure is costed with (bench/scenario.mjs too). */
export const MODELLED_ON = "snapdragon-x";

/**
 * The lines two kernel threads move between their CPUs per iteration in modelled time (the
 * breakdown's lineTransfer part: PTE lines, magazines through the depot), deterministic: what
 * the kernel itself shares, as the modelled machine pays for it.
 */
async function modelledLines(profile, mode, magazineSize) {
  const r = await runMapBenchmark({ threads: 2, mode, profile, machine: MODELLED_ON, seconds: 1, maxLoops: 5000, workers: 1, magazineSize });
  const t = r.timePerLoop;
  const all = Object.values(t).reduce((a, b) => a + b, 0);
  return `${mode} ${fmt(t.lineTransfer / MACHINES[MODELLED_ON].cpuCosts.lineTransfer, 2)} (${fmt(t.lineTransfer)} of ${fmt(all)} ns)`;
}

/**
 * A Simulator set up for pairs on `workers` workers (a device per CPU, in one domain; with
 * `own`, each CPU in a domain on an SMMU of its own, so that the CPUs share none of the
 * kernel's state — or with `oneSmmu` too, each in a domain of its own on one SMMU, as devices
 * in separate IOMMU groups: its command queue shared, and every TLBI reaching every device;
 * with `magazineSize`, IOVA magazines of that size), warmed up — first in turns
 * of `warmupBurst` pairs per CPU on this thread, then on the workers: `go(n, seed)` runs n
 * pairs per worker and resolves to each worker's result; `domains`, the DmaDomains it made.
 */
export async function pairsRig(profile, type, workers, count, { own = false, oneSmmu = false, magazineSize, warmupBurst = WARMUP_BURST } = {}) {
  const sim = await Simulator.create({ profile, kheapMiB: 16 });
  const L = sim.core.layout;
  const shared = oneSmmu ? sim.createSmmu() : undefined;
  const domains = Array.from({ length: own ? workers : 1 }, () => {
    const dom = sim.createDmaDomain({ smmu: shared ?? sim.createSmmu(), type, cpus: workers, magazineSize });
    sim.core.raw.iova_set_flags(dom.iova.id, L.IF_NO_FQ_EVENTS, 0);
    return dom;
  });
  const domainOf = (i) => domains[own ? i : 0];
  const devices = Array.from({ length: workers }, (_, i) => domainOf(i).attachDevice({ streamId: 1 + i }).id);
  const pool = await sim.pool({ workers });
  const domainIds = Array.from({ length: workers }, (_, i) => domainOf(i).id);
  const cpus = Array.from({ length: workers }, (_, i) => i);
  const args = (n, seed) => ({ domain: domainIds, device: devices, cpus,
    count: n, size: PAGE, physBase: PHYS_BASE, physPages: PHYS_PAGES, flags: L.LOOP_TOUCH, seed });
  const go = async (n, seed) => {
    const res = await pool.run("dma.pairs", args(n, seed));
    if (res.some((x) => x.mapFailures || x.pairs !== n)) throw new Error(`dma.pairs: map failures in ${profile} ${type}`);
    return res;
  };
  // Which IOVAs each CPU caches is settled first, in turns (lib/warm-up.mjs), then the
  // workers warm up (their tiered-up code, their caches) on IOVAs that stay where they are.
  const { raw } = sim.core;
  inTurns(workers, warmupPairs(count), warmupBurst, (i, n) => {
    const rc = raw.dma_loop_pairs(devices[i], i, n, PAGE, PHYS_BASE, PHYS_PAGES, 0, L.LOOP_TOUCH, 1 + i);
    if (rc !== 0) throw new Error(`dma_loop_pairs: warm-up of CPU ${i} in ${profile} ${type} returned ${rc}`);
  });
  cpus.forEach((cpu) => domainOf(cpu).releaseCpu(cpu));
  await go(warmupPairs(count), 1);
  return { sim, domains, smmu: own ? null : domains[0].smmu, go };
}

/** The pairs per worker pairsRig warms up with before runs of `count`. */
export const warmupPairs = (count) => Math.max(1, Math.floor(count / 4));

/** Pairs per second over the workers of one run (`res`, `count` pairs each): until the last one finished. */
export const rateOf = (res, count) => (res.length * count) / (Math.max(...res.map((x) => x.ms)) / 1000);

/** One timed run of `rig` (`workers` workers, `count` pairs each) added to the figures `m`; returns its pairs/s. */
async function sample(rig, workers, count, seed, m) {
  const before = rig.smmu.stats();
  const res = await rig.go(count, seed);
  const after = rig.smmu.stats();
  const total = count * workers;
  const rate = rateOf(res, count);
  m.rate.push(rate);
  m.nsPerPair.push(median(res.map((x) => (x.ms * 1e6) / count)));
  m.cpuNs.push(res.reduce((n, x) => n + x.cpuNs, 0) / total);
  m.smmuNs.push((after.modelledNs - before.modelledNs) / total);
  m.cmds.push((after.commands - before.commands) / total);
  m.syncs.push((after.syncs - before.syncs) / total);
  return rate;
}

/**
 * `count` pairs per worker on one worker, on two, on two whose CPUs share none of the
 * kernel's state (each in a domain on an SMMU of its own), on two whose CPUs each map in a
 * domain of their own on one SMMU, and on two Simulators of one
 * worker each at once (the control: two workers sharing nothing at all — what this machine
 * gives two copies of this work; its cores may differ: on the VMs this was tuned on one vCPU
 * ran the pair loop ~45% slower than the other, the same integer loop equally fast). The
 * five run in turn, `reps` times after a warm-up, so that each ratio compares runs moments
 * apart: `ratio` (two workers over one) and `control` (the control over one), medians of the
 * per-turn ratios; `kept` (two workers over the control), `ownKept` (two workers of
 * separate domains and SMMUs over the control) and `domainsKept` (of separate domains on one
 * SMMU), every turn's; `1` and `2`, the runs' own medians. `rig`: pairsRig's options for
 * every run (a magazineSize, a warmupBurst); `separate: false` leaves out the runs of
 * separate domains (`ownKept` and `domainsKept` then empty).
 */
async function measure(profile, type, count, reps, { rig: rigOptions = {}, separate: withSeparate = true } = {}) {
  const rig = (workers, opts = {}) => pairsRig(profile, type, workers, count, { ...rigOptions, ...opts });
  const rigs = { 1: await rig(1), 2: await rig(2) };
  const own = withSeparate ? await rig(2, { own: true }) : null;
  const domains = withSeparate ? await rig(2, { own: true, oneSmmu: true }) : null;
  const apart = [await rig(1), await rig(1)];
  try {
    const figures = () => ({ rate: [], nsPerPair: [], cpuNs: [], smmuNs: [], cmds: [], syncs: [] });
    const m = { 1: figures(), 2: figures() };
    const turns = { ratio: [], control: [], kept: [], ownKept: [], domainsKept: [] };
    for (let r = 0; r < reps; r++) {
      const one = await sample(rigs[1], 1, count, 100 + r, m[1]);
      const two = await sample(rigs[2], 2, count, 100 + r, m[2]);
      const separate = own ? rateOf(await own.go(count, 100 + r), count) : undefined;
      const oneSmmu = domains ? rateOf(await domains.go(count, 100 + r), count) : undefined;
      const res = await Promise.all(apart.map((g) => g.go(count, 100 + r)));
      const control = rateOf(res.map((x) => x[0]), count);
      turns.ratio.push(two / one);
      turns.control.push(control / one);
      turns.kept.push(two / control);
      if (separate !== undefined) turns.ownKept.push(separate / control);
      if (oneSmmu !== undefined) turns.domainsKept.push(oneSmmu / control);
    }
    const medians = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, median(v)]));
    return { 1: medians(m[1]), 2: medians(m[2]), ratio: median(turns.ratio), control: median(turns.control),
      kept: turns.kept, ownKept: turns.ownKept, domainsKept: turns.domainsKept };
  } finally {
    await Promise.all([rigs[1], rigs[2], own, domains, ...apart].filter(Boolean).map((g) => g.sim.close()));
  }
}

function line(profile, mode, workers, r) {
  return `  ${profile}  ${mode.padEnd(6)} ${workers} worker${workers > 1 ? "s" : " "}: ` +
    `${fmt(r.rate / 1e6, 2)} M pairs/s (${fmt(r.nsPerPair)} ns/pair per worker) | modelled per pair: ` +
    `CPU ${fmt(r.cpuNs)} ns, SMMU ${fmt(r.smmuNs)} ns, ${fmt(r.cmds, 3)} commands, ${fmt(r.syncs, 3)} syncs`;
}

/** One profile when `profile` is given (bench/run.mjs calls once per profile), else every profile. */
export async function run({ print = console.log, profile: only } = {}) {
  const profiles = only ? [only] : PROFILES;
  const summary = [];
  print("DMA API: dma_map + device write + dma_unmap of a 4 KiB buffer, strict (DMA) vs lazy (DMA-FQ)");
  print("  simulator speed: wall clock, inside Wasm, one simulated CPU per worker, one device per CPU");
  print("  modelled hardware: CPU ns charged to the mapping thread (commands, CMD_SYNC waits, locks); SMMU ns of the");
  print("  device's translations; commands and CMD_SYNCs consumed — all per pair");
  const count = 200_000;
  const reps = 5;
  const traced = await tracedCore();
  for (const profile of profiles) {
    const machine = [await machineScaling()];
    const strict = await measure(profile, "DMA", count, reps);
    const lazy = await measure(profile, "DMA-FQ", count, reps);
    for (const workers of [1, 2]) {
      print(line(profile, "strict", workers, strict[workers]));
      print(line(profile, "lazy", workers, lazy[workers]));
      const ratio = (k) => (strict[workers][k] === 0 ? "–" : `${fmt(lazy[workers][k] / strict[workers][k], 2)}×`);
      print(`  ${profile}  lazy/strict ${workers} worker${workers > 1 ? "s" : " "}: speed ${ratio("rate")}, ` +
        `modelled CPU ${ratio("cpuNs")}, SMMU ${ratio("smmuNs")}, commands ${ratio("cmds")}, syncs ${ratio("syncs")}`);
    }
    machine.push(await machineScaling());
    const handoff = await lineHandoffNs();
    print(`  ${profile}  2 workers / 1 worker: strict ${fmt(strict.ratio, 2)}×, lazy ${fmt(lazy.ratio, 2)}× ` +
      `(this machine: two threads sharing nothing ${machine.map((m) => `${fmt(m, 2)}×`).join(" before, ")} after; ` +
      `a cache line moves between them in ${fmt(handoff)} ns)`);
    const kept = (mode, r) => `${mode} ${fmt(r.control, 2)}× → ${keptText(r.kept)}`;
    print(`  ${profile}  the same pairs on two Simulators of one worker each at once (sharing nothing) over one, and the ` +
      `share of that one Simulator's two workers keep: ${kept("strict", strict)}, ${kept("lazy", lazy)}`);
    print(`  ${profile}  two workers of one Simulator whose CPUs share none of the kernel's state (each in a domain on ` +
      `an SMMU of its own) keep of the same control: strict ${keptText(strict.ownKept)}, lazy ${keptText(lazy.ownKept)} — ` +
      `what one domain's two workers keep less is the kernel's own sharing (its PTE lines, magazines, locks, command queue)`);
    print(`  ${profile}  two workers whose CPUs each map in a domain of their own on one SMMU (devices in separate IOMMU ` +
      `groups: the command queue shared, each TLBI reaching the other device, which never held its context) keep of the ` +
      `same control: strict ${keptText(strict.domainsKept)}, lazy ${keptText(lazy.domainsKept)}`);
    /** The line moves per pair of `r`'s pairs and the 2-worker ratio they predict: "mode moves → ratio×" and the ratio. */
    const roomOf = async (mode, type, r, { magazineSize, warmupBurst } = {}) => {
      const moves = (await dmaPairsSharing(Simulator, traced, { profile, type, domain: { magazineSize }, warmupBurst })).total;
      const predicted = ratioFromMoves(1e9 / r[1].rate, moves, handoff);
      return { text: `${mode} ${fmt(moves, 2)} → ${fmt(predicted, 2)}×`, predicted };
    };
    const room = async (...args) => (await roomOf(...args)).text;
    const lazyRoom = await roomOf("lazy", "DMA-FQ", lazy);
    print(`  ${profile}  line moves per pair between the workers, and the 2-worker ratio they alone predict: ` +
      `${await room("strict", "DMA", strict)}, ${lazyRoom.text}`);
    print(`  ${profile}  the kernel's share of that sharing on the modelled machine (dma_map_benchmark, 2 threads, ` +
      `${MODELLED_ON}: lines moved per iteration, their ns of the iteration's): ${await modelledLines(profile, "strict")}, ` +
      `${await modelledLines(profile, "lazy")}`);
    await withIovasInterleaved(profile, count, reps, room, print);
    const whatIf = kernelProfile(profile).iovaMagazineSize < FITS_A_FLUSH ? await withMagazinesThatFit(profile, count, reps, room, print) : undefined;
    summary.push({ what: "lazy DMA pairs", profile, ratio: lazy.ratio, predicted: lazyRoom.predicted, handoff,
                   machine: machine[0], ...(whatIf === undefined ? {} : { whatIf: { label: `magazines of ${FITS_A_FLUSH}`, ratio: whatIf } }) });
  }
  return { summary };
}

/**
 * The lazy pairs again, the CPUs warmed up in turns of one pair (lib/warm-up.mjs): their
 * first IOVAs, taken from the tree in alternation, interleave PTE by PTE, as for CPUs that
 * start at the same moment — so the two CPUs write the same page-table lines on every map
 * and unmap from then on. What that kernel sharing costs two workers, beside the runs above
 * (IOVAs in runs of WARMUP_BURST).
 */
async function withIovasInterleaved(profile, count, reps, room, print) {
  const burst = { warmupBurst: 1 };
  const lazy = await measure(profile, "DMA-FQ", count, reps, { rig: burst, separate: false });
  print(`  ${profile}  lazy with the CPUs' IOVAs interleaved PTE by PTE (warmed up in turns of one pair, as CPUs that start ` +
    `together; above, in turns of ${WARMUP_BURST}): 2 workers / 1 worker ${fmt(lazy.ratio, 2)}×, two Simulators ` +
    `${fmt(lazy.control, 2)}× → kept ${keptText(lazy.kept)}; line moves and the ratio they predict: ` +
    `${await room("lazy", "DMA-FQ", lazy, burst)}`);
}

/** The IOVA magazine size two of which hold the IOVAs a CPU's full flush queue frees at once (FQ_SIZE - 1). */
export const FITS_A_FLUSH = Math.ceil((FQ_SIZE - 1) / 2);

/**
 * The lazy pairs again, the profile's kernel but for its magazines: FITS_A_FLUSH PFNs each (a
 * what-if, magazineSize). Where the profile's are smaller, every full flush sends a magazine
 * through the depot to the other CPU with its IOVAs' page-table lines; here none goes, and
 * what two workers keep then is the simulator's share without that kernel sharing. Returns
 * the 2-worker ratio.
 */
async function withMagazinesThatFit(profile, count, reps, room, print) {
  const mag = { magazineSize: FITS_A_FLUSH };
  const lazy = await measure(profile, "DMA-FQ", count, reps, { rig: mag, separate: false });
  print(`  ${profile}  lazy with magazines of ${FITS_A_FLUSH} (two hold the ${FQ_SIZE - 1} IOVAs a full flush queue frees; ` +
    `the kernel's ${kernelProfile(profile).iovaMagazineSize} do not): 2 workers / 1 worker ${fmt(lazy.ratio, 2)}×, ` +
    `two Simulators ${fmt(lazy.control, 2)}× → kept ${keptText(lazy.kept)}; line moves and the ratio they predict: ` +
    `${await room("lazy", "DMA-FQ", lazy, mag)}; on ${MODELLED_ON}: ${await modelledLines(profile, "lazy", FITS_A_FLUSH)}`);
  return lazy.ratio;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run();
}
