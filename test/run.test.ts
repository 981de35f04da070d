// Scenario runs across workers (src/run/runner.ts): the built-in scenarios at a small
// scale, the runner's promises (the same seed on one worker gives the same report; two
// workers do the same work), what the report says about strict vs lazy, the oracle
// catching a broken SMMU (and stopping at the first violation when asked), events, a
// worker that fails mid-run, a switcher flipping a domain under load, and runs on a
// simulator of the caller's. Nothing here asserts a timing: the machine has two noisy cores.

import { deterministic } from "./helpers.js";
import { describe, expect, it } from "vitest";
import {
  BUILTIN_RUN_SCENARIOS, RunError, Simulator, WorkerPool, parseRunScenario, runScenario, startScenario,
  type BuiltinRunScenarioName, type RunReport, type RunScenarioInput, type VariantDefinition,
} from "../dist/index.js";
import type { EventTime } from "../src/run/scenario.js";

/** A built-in scenario with every workload's ops scaled to `ops` (attackers too). */
function small(name: BuiltinRunScenarioName, ops: number, patch: Partial<RunScenarioInput> = {}): RunScenarioInput {
  const sc = structuredClone(BUILTIN_RUN_SCENARIOS[name]!) as RunScenarioInput;
  for (const w of sc.workloads) w.ops = ops;
  return { ...sc, ...patch };
}

async function run(sc: RunScenarioInput, opts: { workers?: number; seed?: number } = {}): Promise<RunReport> {
  return runScenario(parseRunScenario(sc, sc.name), opts);
}

describe("built-in scenarios, small", () => {
  it("nic: strict, switched to lazy at half-way on cpu 0, clean under the oracle", async () => {
    const r = await run(small("nic", 20_000), { workers: 2 });
    expect(r.outcome).toMatchObject({ status: "ok", expected: "clean", asExpected: true });
    expect(r.totals.ops).toBe(40_000);
    expect(r.totals.violations).toBe(0);
    expect(r.events).toHaveLength(1);
    expect(r.events[0]).toMatchObject({ action: "switch-to-lazy", target: "nic", cpu: 0, result: "ok" });
    // Both halves happened: strict unmaps synchronised (CMD_SYNC per unmap), lazy ones were queued.
    expect(r.smmu.commands.CMD_SYNC).toBeGreaterThan(10_000);
    expect(r.fq.entriesQueued).toBeGreaterThan(10_000);
    expect(r.fq.flushes.ringFull).toBeGreaterThan(10);
    expect(r.lazyWindow.samples).toBeGreaterThan(10_000);
    // Each 2 KiB packet is 8 transactions: the first misses, the rest hit what it filled —
    // unless an invalidation from the other CPU began in between and kept the fill out (the
    // SMMU's epoch rule), which how the workers interleave decides: so at most 7/8, and well
    // above half.
    expect(r.smmu.translations).toBe(8 * 40_000);
    expect(r.smmu.iotlbHitRate).toBeGreaterThan(0.6);
    expect(r.smmu.iotlbHitRate).toBeLessThanOrEqual(7 / 8);
    expect(r.series.length).toBeGreaterThan(10);
    expect(r.series.at(-1)!.lazyDomains).toBe(1);
    expect(r.series[0]!.lazyDomains).toBe(0);
    // One modelled clock: equal windows (the last up to half a window longer) ending at the
    // run's modelled end, every operation counted by then, the event inside the range.
    const t = r.series.map((p) => p.tUs);
    const width = t[0]!;
    for (let i = 1; i < t.length - 1; i++) expect(t[i]! - t[i - 1]!).toBeCloseTo(width, 6);
    expect(t.at(-1)! - t.at(-2)!).toBeGreaterThanOrEqual(width / 2);
    expect(t.at(-1)!).toBeCloseTo(r.totals.modelledUs, 6);
    expect(r.series.length).toBeGreaterThanOrEqual(128);
    expect(r.series.length).toBeLessThanOrEqual(257);
    expect(r.series.at(-1)!.ops).toBe(r.totals.ops);
    expect(r.events[0]!.atUs).toBeGreaterThan(0);
    expect(r.events[0]!.atUs).toBeLessThan(r.totals.modelledUs);
  });

  it("nic with a port in each of two strict domains, on two workers: clean — each TLBI reaches its own port's caches", async () => {
    // The domains hand out the same IOVAs, and a TLBI skips the caches that never held its
    // context (assembly/smmu/cache.ts CTX_SEEN): one that skipped its own port's would leave
    // a stale entry for the next buffer mapped at that IOVA, which the oracle reports.
    const sc = small("nic", 20_000, { events: [] });
    const r = await run({
      ...sc, domains: [{ name: "a", type: "DMA" }, { name: "b", type: "DMA" }],
      devices: [{ ...sc.devices[0]!, domain: "a" }, { ...sc.devices[1]!, domain: "b" }],
    }, { workers: 2 });
    expect(r.outcome).toMatchObject({ status: "ok", expected: "clean", asExpected: true });
    expect(r.totals.violations).toBe(0);
    expect(r.smmu.commands.CMD_SYNC).toBeGreaterThanOrEqual(40_000); // a strict unmap each
    expect(r.smmu.iotlbHitRate).toBeLessThanOrEqual(7 / 8); // each packet's first transaction walks
  });

  it("strict unmaps cost the CMD_SYNC wait; lazy ones do not (the report's latency histograms)", async () => {
    const strict = await run(small("nic", 5_000, { events: [] }), { workers: 1 });
    const lazy = await run(small("nic", 5_000, { events: [], domains: [{ name: "nic", type: "DMA-FQ" }] }), { workers: 1 });
    expect(strict.latency.unmap.p50).toBeGreaterThan(5 * lazy.latency.unmap.p50);
    expect(strict.fq.entriesQueued).toBe(0);
    expect(strict.lazyWindow.samples).toBe(0);
    expect(lazy.smmu.commands.CMD_SYNC!).toBeLessThan(strict.smmu.commands.CMD_SYNC! / 50);
  });

  for (const name of ["nic-tx", "storage", "random"] as const) {
    it(`${name} runs clean on two workers`, async () => {
      const r = await run(small(name, name === "storage" ? 500 : 5_000), { workers: 2 });
      expect(r.outcome.status).toBe("ok");
      expect(r.totals.violations).toBe(0);
      expect(r.totals.mapFailures).toBe(0);
      expect(r.totals.maps).toBe(r.totals.unmaps); // the drain unmapped what was left
      expect(r.perCpu.map((c) => c.worker).sort()).toEqual([0, 1]);
    });
  }

  it("attacker: stale reads get through in the lazy window, the oracle allows them, and the window is measured", async () => {
    const r = await run(small("attacker", 20_000), { workers: 1 });
    expect(r.totals.violations).toBe(0);
    expect(r.attackerWindow.samples).toBeGreaterThan(1000);
    expect(r.attacker.staleReads).toBeGreaterThan(0);
    expect(r.attacker.staleReads).toBeLessThan(r.attacker.retries);
    expect(r.oracle.lazyWindowAccesses).toBeGreaterThanOrEqual(r.attacker.staleReads); // each stale read the oracle allowed
    expect(r.attackerWindow.max).toBeLessThanOrEqual(r.lazyWindow.max * 2 + 1);
  });
});

describe("the runner's promises", () => {
  it("the same seed on one worker gives the same report", async () => {
    const sc = small("nic", 6_000);
    const a = await run(sc, { workers: 1, seed: 7 });
    const b = await run(sc, { workers: 1, seed: 7 });
    expect(deterministic(b)).toEqual(deterministic(a));
    const c = await run(sc, { workers: 1, seed: 8 });
    expect(c.scenario.seed).toBe(8);
  });

  it("two workers do the same work as one", async () => {
    const one = await run(small("nic", 10_000), { workers: 1 });
    const two = await run(small("nic", 10_000), { workers: 2 });
    for (const k of ["ops", "maps", "unmaps", "deviceAccesses", "violations"] as const) {
      expect(two.totals[k]).toBe(one.totals[k]);
    }
    expect(two.timing.perWorker).toHaveLength(2);
  });

  it("a broken SMMU (TLBIs dropped): the oracle reports use-after-free, explained, and the run stops at the first when asked", async () => {
    const broken = small("nic", 3_000, { events: [], smmu: { injectDroppedInvalidations: true } });
    const all = await run(broken, { workers: 1 });
    expect(all.outcome).toMatchObject({ status: "violations", asExpected: false });
    expect(all.totals.violations).toBeGreaterThan(100);
    expect(all.violations[0]!.explanation).toMatch(/stale translation|after a strict unmap/);
    expect(all.violations[0]!.trace.length).toBeGreaterThan(1);
    const first = await run({ ...broken, checks: { stopOnViolation: true, expect: "violations" } }, { workers: 1 });
    expect(first.outcome).toMatchObject({ status: "stopped", asExpected: true });
    expect(first.totals.ops).toBeLessThan(all.totals.ops);
  });

  it("an abort signal stops the run at the next operation; the report covers what was done", async () => {
    const abort = new AbortController();
    const r = await runScenario(parseRunScenario(small("nic", 5_000_000)), {
      workers: 2, signal: abort.signal, onProgress: (p) => { if (p.done > 20_000) abort.abort(); },
    });
    expect(r.outcome).toMatchObject({ status: "stopped", asExpected: false });
    expect(r.outcome.message).toMatch(/stopped on request/);
    expect(r.totals.ops).toBeGreaterThan(20_000);
    expect(r.totals.ops).toBeLessThan(10_000_000);
    expect(r.totals.maps).toBe(r.totals.unmaps); // what was mapped was unmapped at the end
  });

  it("startScenario: look at the machine while it runs, and switch a domain live from the orchestrator", async () => {
    const run = await startScenario(small("nic", 200_000, { events: [] }), { workers: 2, keepOpen: true });
    try {
      expect(run.domains.get("nic")!.type).toBe("DMA");
      while (run.progress().done < 20_000) await new Promise((r) => setTimeout(r, 5));
      expect(run.switchToLazy("nic")).toBe("ok");
      expect(run.domains.get("nic")!.type).toBe("DMA-FQ");
      // Again, with its devices bound: the kernel refuses the type the group already has.
      const again = run.switchToLazy("nic");
      expect(again).toMatch(/^refused: DMA-FQ → DMA-FQ on a domain with 2 device\(s\) attached is refused \(-E(PERM|BUSY)\)/);
      expect(() => run.switchToLazy("gpu")).toThrow(/must name a domain of the scenario \(nic\)/);
      const r = await run.report;
      expect(r.events.map((e) => [e.cpu, e.result])).toEqual([[-1, "ok"], [-1, again]]);
      expect(r.fq.entriesQueued).toBeGreaterThan(1000);
      expect(run.domains.get("nic")!.fqPublished).toBe(true); // keepOpen: the machine is still there to look at
    } finally {
      await run.simulator.close();
    }
  });

  it("while it runs, its domains, devices, SMMU and tables cannot be taken away; afterwards they can, and switchToLazy is over", async () => {
    const run = await startScenario(small("nic", 200_000, { events: [] }), { workers: 2, keepOpen: true });
    try {
      while (run.progress().done < 20_000) await new Promise((r) => setTimeout(r, 5));
      const dom = run.domains.get("nic")!;
      const during = /cannot be (destroyed|detached|released) while a run \('scenario\.run'\) is in progress on this Simulator: its workers may be using it/;
      expect(() => dom.destroy()).toThrow(/^iommu-sim: DmaDomain\.destroy: DMA domain \d+ cannot be destroyed while a run/);
      expect(() => run.devices.get("eth0")!.detach()).toThrow(/^iommu-sim: DmaDevice\.detach: DMA device \d+ \(stream 1\) cannot be detached/);
      for (const take of [() => run.smmu.destroy(), () => dom.pageTable.release(), () => dom.iova.destroy(), () => dom.smmuDomain.destroy()]) {
        expect(take).toThrow(during);
      }
      // Making objects is not taking any away: a domain of its own, undone when it fails, too.
      const other = run.simulator.createDmaDomain({ smmu: run.simulator.createSmmu(), cpus: 1 });
      expect(() => run.simulator.createDmaDomain({ smmu: run.smmu, cpus: 1, asid: dom.smmuDomain.asidOrVmid })).toThrow(/asid is already in use/);
      const r = await run.report;
      // Nothing was taken from under the workers: the run went to its end.
      expect(r.outcome).toMatchObject({ status: "ok", asExpected: true });
      expect(r.totals.ops).toBe(400_000);
      expect(() => run.switchToLazy("nic")).toThrow(/^iommu-sim: switchToLazy: the run of scenario nic is over/);
      other.destroy();
      dom.destroy();
      expect(() => dom.stats()).toThrow(/which was destroyed/);
    } finally {
      await run.simulator.close();
    }
  });

  it("a Simulator closed under a run stops it mid-task, and the error says which ways keep a report", async () => {
    const sim = await Simulator.create();
    const pending = runScenario(small("nic", 2_000_000, { events: [] }), { simulator: sim, workers: 2 }).catch((e) => e);
    while (sim.memoryStats().tablePages === 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 100));
    await sim.close();
    const e = await pending;
    expect(e).toBeInstanceOf(RunError);
    expect(e.message).toMatch(/^iommu-sim: scenario nic: the pool was closed during a run \(the Simulator or its pool was closed while the run went on.*ScenarioRun\.stop\(\), an AbortSignal or the scenario's timeoutMs stop a run and keep its report\)$/);
    expect(WorkerPool.liveWorkers).toBe(0);
  });

  it("bad run options are refused with the option named", async () => {
    await expect(run(small("nic", 100), { workers: 3 })).rejects.toThrow(/at most one worker per CPU the workloads use\): workers must be an integer in \[1, 2\], got 3/);
    await expect(runScenario({ name: "x" } as never)).rejects.toThrow(/^x: cpus: required field missing/);
    // Checked before anything starts (no worker, no timer left behind): not a TypeError from a timer later.
    for (const start of [runScenario, startScenario]) {
      await expect(start(small("nic", 100), { onProgress: 5 as never })).rejects.toThrow(/^runScenario: onProgress must be a function, got 5/);
      await expect(start(small("nic", 100), { signal: {} as never })).rejects.toThrow(/^runScenario: signal must be an AbortSignal, got an object/);
    }
    expect(WorkerPool.liveWorkers).toBe(0);
  });

  it("an onProgress that throws stops the run, which rejects with its error once the workers have stopped", async () => {
    const blew = new Error("progress callback blew up");
    let calls = 0;
    // Far more operations than a run does before the first progress call: the callback ends it.
    const report = runScenario(parseRunScenario(small("nic", 50_000_000)), {
      workers: 2, onProgress: () => { calls++; throw blew; },
    });
    await expect(report).rejects.toBe(blew);
    expect(calls).toBe(1);
    expect(WorkerPool.liveWorkers).toBe(0);
  });

  it("fail-magazine-alloc: magazine allocations fail for a while and the run goes on", async () => {
    const r = await run(small("nic-tx", 4_000, {
      events: [{ at: { fraction: 0.001 }, cpu: 0, action: "fail-magazine-alloc", domain: "nic", count: 3000 }],
    }), { workers: 1 });
    expect(r.events[0]!.result).toMatch(/^ok/);
    expect(r.iova.magazineAllocFailures).toBeGreaterThan(0);
    expect(r.totals.violations).toBe(0);
  });

  it("a domain whose output size cannot reach the workloads' buffers is refused before the run", async () => {
    await expect(run(small("nic", 100, { domains: [{ name: "nic", oas: 36 }] }), { workers: 1 }))
      .rejects.toThrow(/^nic: domains\[0\]\.oas: the buffers of workload "rx0" reach PA 0x10ffffffff .* needs oas ≥ 37 \(one of 40, 42, 44, 48\); found 36$/);
  });

  it("devices whose main TLBs do not fit the run's memory are refused with what to change", async () => {
    const base = small("nic", 100);
    const devices = [...base.devices!, ...Array.from({ length: 38 }, (_, i) => ({ name: `eth${2 + i}`, domain: "nic", streamId: 3 + i }))];
    // 65536 entries: 4 MiB a device (entries, set lines), 40 of them against a run's 64 MiB.
    await expect(run({ ...base, devices, smmu: { iotlb: { entries: 65536, ways: 4 } } }, { workers: 1 })).rejects.toThrow(
      /^nic: devices\[\d+\]: no room for device "eth\d+"'s main TLB: 40 devices, each with a main TLB of 65536 entries \(smmu\.iotlb\.entries\), do not fit the 64 MiB of simulator memory a run has; give fewer entries, or smmu\.iotlb\.scope "smmu"/);
    // One IOTLB for all of them fits.
    const r = await run({ ...base, devices, smmu: { iotlb: { entries: 65536, ways: 4, scope: "smmu" } } }, { workers: 1 });
    expect(r.totals.violations).toBe(0);
  });

  it("domains whose per-CPU caches do not fit the run's memory are refused with what to change", async () => {
    // Magazines of 1024 PFNs on 128 CPUs: about 14 MiB a domain, 8 of them against a run's 64 MiB.
    const cpus = Array.from({ length: 128 }, (_, c) => c);
    const sc: RunScenarioInput = {
      name: "wide", cpus: 128, domains: Array.from({ length: 8 }, (_, i) => ({ name: `d${i}`, magazineSize: 1024 })),
      devices: [{ name: "x", domain: "d0", streamId: 1 }], workloads: [{ kind: "pairs", device: "x", cpus, ops: 1 }],
    };
    await expect(run(sc)).rejects.toThrow(/^wide: domains\[\d\]: no room for domain "d\d"'s per-CPU IOVA caches with magazines of 1024 PFNs \(magazineSize\) and flush queues: 8 domains, each with those of all 128 CPUs \(cpus\), besides the SMMU's caches, do not fit the 64 MiB of simulator memory a run has; give fewer cpus or domains, or a smaller magazineSize$/);
  });

  it("an IOTLB too large for one cache, whatever the memory, is refused by its field path", async () => {
    // 65536 entries of 1 way: a 64-byte line for each of 65536 sets besides 2 MiB of entries,
    // past the largest block one cache is laid out in — a larger kheap would not help.
    for (const scope of ["smmu", "device"] as const) {
      await expect(run(small("nic", 100, { smmu: { iotlb: { entries: 65536, ways: 1, scope } } }), { workers: 1 })).rejects.toThrow(
        /^nic: smmu\.iotlb\.ways: an IOTLB of 65536 entries in ways of 1 is more than one cache can be: .* give more ways or fewer entries — 65536 sets of 1 way/);
    }
  });

  it("map failures are said in the outcome (a 32-bit mask with little IOVA space left)", async () => {
    // Four CPUs each keeping 64 requests of 1–8 × 4 MiB in flight (4.5 on average) want
    // more than the 4 GiB of a 32-bit aperture.
    const r = await run(small("nic", 2_000, { events: [], cpus: 4, domains: [{ name: "nic", ias: 32 }],
      workloads: [{ kind: "storage", name: "io", device: "eth0", cpus: [0, 1, 2, 3], ops: 100, queueDepth: 64, segments: 8,
                    minBytes: 4 << 20, maxBytes: 4 << 20 }] }), { workers: 1 });
    expect(r.totals.mapFailures).toBeGreaterThan(0);
    expect(r.outcome.message).toMatch(/NOTE: \d+ of \d+ dma_map calls failed \(DMA_MAPPING_ERROR/);
  });

  it("an event whose modelled time never comes is reported as not reached", async () => {
    const r = await run(small("nic", 1_000, { events: [{ at: { timeMs: 60_000 }, cpu: 0, action: "switch-to-lazy", domain: "nic" }] }),
      { workers: 1 });
    expect(r.events).toEqual([expect.objectContaining({
      due: "cpu 0's clock at 60000 ms", action: "switch-to-lazy", result: "not reached: the CPU finished its operations first",
    })]);
    expect(r.fq.entriesQueued).toBe(0);
    // The run did not do what the scenario asked: not as expected, and said why.
    expect(r.outcome).toMatchObject({ status: "ok", asExpected: false });
    expect(r.outcome.message).toContain("; EVENT FAILED: switch-to-lazy nic (cpu 0's clock at 60000 ms): not reached");
  });

  it("an event at a tiny modelled time fires at the CPU's first operation, not at the end of its chunk", async () => {
    const at = async (when: EventTime) => (await run(small("nic", 2_000, {
      workers: 1, events: [{ at: when, cpu: 0, action: "switch-to-lazy", domain: "nic" }] }), { workers: 1 })).events[0]!;
    const first = await at({ ops: 1 });
    expect(await at({ timeMs: 1e-7 })).toMatchObject({ atUs: first.atUs, result: "ok" });
  });

  it("a switch on v5.15 with two devices in the domain is refused (-EINVAL) before the run, as the kernel would", async () => {
    const sc = small("nic", 1_000, {
      profile: "5.15",
      devices: [{ name: "eth0", domain: "nic", streamId: 1 }, { name: "eth1", domain: "nic", streamId: 2 }],
    });
    await expect(run(sc, { workers: 1 })).rejects.toThrow(/^nic: events\[0\]\.domain: domain "nic" cannot be switched live: .*\(-EINVAL\)$/);
  });

  it("unmaps that found fq_domain set but no queue make the outcome violations, not clean", async () => {
    // A variant whose unmap queues IOVAs whether or not the queue its switch publishes first exists.
    const variant = { name: "q3", switch: [{ op: "build-fq" }, { op: "publish-fq-domain", access: "once" }, { op: "set-type" }],
                      unmap: [{ op: "clear-ptes" }, { op: "queue_iova" }] } as VariantDefinition;
    const r = await run(small("nic", 4_000, { workers: 1, cpus: 1, profile: "5.15", domains: [{ name: "nic", type: "DMA", variant }],
      devices: [{ name: "eth0", domain: "nic", streamId: 1 }],
      workloads: [{ kind: "nic-rx", name: "rx0", device: "eth0", cpus: [0], ops: 4_000, ring: 256, bufferBytes: 2048 }] }),
    { workers: 1 });
    expect(r.totals.unmapErrors).toBeGreaterThan(0);
    expect(r.totals.violations).toBe(0);
    expect(r.outcome).toMatchObject({ status: "violations", expected: "clean", asExpected: false });
    expect(r.outcome.message).toMatch(new RegExp(`; VIOLATION: ${r.totals.unmapErrors} dma_unmap calls found fq_domain set but no flush queue \\(queue-before-publish`));
  });

  it("a worker that throws mid-run: the run stops, the error names the worker and its CPU, and what was done is reported", async () => {
    const sc = small("nic", 50_000, { events: [{ at: { fraction: 0.3 }, cpu: 1, action: "fail-worker" }] });
    const err = await run(sc, { workers: 2 }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(RunError);
    const e = err as RunError;
    expect(e.message).toMatch(/worker 1 failed: cpu 1 \(nic-rx "rx1"\): injected failure.* on cpu 1 — worker 1 ran cpu 1 \(nic-rx "rx1"\); the run was stopped, every other worker at a safe point$/);
    // The other CPU stopped at the run's stop word, soon after; its work is in the report.
    expect(e.failure).toMatchObject({ worker: 1, cpus: [1], abandoned: false });
    const r = e.failure!.report;
    expect(r.outcome).toMatchObject({ status: "failed", asExpected: false });
    expect(r.outcome.message).toMatch(/^stopped: worker 1 failed: cpu 1/);
    expect(r.perCpu.find((c) => c.cpu === 1)!.ops).toBe(15_000);
    expect(r.perCpu.find((c) => c.cpu === 0)!.ops).toBeGreaterThan(0);
    expect(r.timing.perWorker.map((w) => w.worker)).toEqual([0]);
    expect(WorkerPool.liveWorkers).toBe(0);
  });

  it("a worker that dies mid-run (exits): the run fails saying so, and no worker is left", async () => {
    const sc = small("nic", 50_000, { events: [{ at: { fraction: 0.3 }, cpu: 0, action: "fail-worker", mode: "crash" }] });
    const err = await run(sc, { workers: 2 }).then(() => undefined, (e: unknown) => e);
    expect((err as Error).message).toMatch(/worker 0 exited \(code 3\) — worker 0 ran cpu 0 \(nic-rx "rx0"\); the run was stopped, but a worker stopped where it may have held a lock$/);
    expect((err as RunError).failure).toMatchObject({ worker: 0, abandoned: true });
    expect(WorkerPool.liveWorkers).toBe(0);
  });

  it("a worker that stops the run and then exits (mode exit): its peers stop at a safe point", async () => {
    const sc = small("nic", 50_000, { events: [{ at: { fraction: 0.3 }, cpu: 0, action: "fail-worker", mode: "exit" }] });
    const err = await run(sc, { workers: 2 }).then(() => undefined, (e: unknown) => e);
    expect((err as Error).message).toMatch(/worker 0 exited \(code 3\).*every other worker at a safe point$/);
    expect((err as RunError).failure).toMatchObject({ worker: 0, abandoned: false });
    expect(WorkerPool.liveWorkers).toBe(0);
  });
});

/** Mappers doing map/write/unmap pairs on one device while a switcher flips their domain strict → lazy. */
function switched(opts: { ops: number; cpus?: number; workers?: number; variant?: string; attacker?: boolean;
                          profile?: "5.15" | "7.1"; extra?: Partial<RunScenarioInput> }): RunScenarioInput {
  const n = opts.cpus ?? 2;
  const mappers = Array.from({ length: n }, (_, i) => ({ kind: "pairs" as const, name: `m${i}`, device: "dev", cpus: [i], ops: opts.ops }));
  return {
    name: "switched", profile: opts.profile ?? "7.1", seed: 3, workers: opts.workers ?? 1, cpus: n + 1 + (opts.attacker ? 1 : 0),
    domains: [{ name: "d", type: "DMA", variant: (opts.variant ?? "merged") as "merged" }],
    devices: [{ name: "dev", domain: "d", streamId: 5 }],
    workloads: [...mappers, { kind: "switcher", name: "sw", domain: "d", cpus: [n], gap: 200 },
                ...(opts.attacker ? [{ kind: "attacker" as const, name: "evil", victim: "m0", cpus: [n + 1] as [number] }] : [])],
    checks: { oracle: true, expect: "any" },
    ...opts.extra,
  };
}

describe("the live switch under load (switcher workloads)", () => {
  it("a switcher flips the domain strict → lazy while pairs map: both kinds of unmap, and merged stays clean", async () => {
    const r = await run(switched({ ops: 20_000, workers: 3, attacker: true, cpus: 2 }));
    expect(r.outcome).toMatchObject({ status: "ok", asExpected: true });
    expect(r.totals.violations).toBe(0);
    expect(r.switcher.rounds).toBeGreaterThan(0);
    expect(r.switcher.switches).toBe(r.switcher.rounds);
    const d = r.domains[0]!;
    expect(d.dma.switches).toBe(r.switcher.switches);
    expect(d.dma).toMatchObject({ maps: 40_000, mixedDecisions: 0, queueMissing: 0, mapFailures: 0 });
    expect(d.dma.strictUnmaps + d.dma.lazyUnmaps).toBe(40_000);
    expect(d.dma.strictUnmaps).toBeGreaterThan(0);
    expect(d.dma.lazyUnmaps).toBeGreaterThan(0);
    // The switcher ran for as long as the mappers did, no longer (it was given no rounds).
    expect(r.perCpu.filter((c) => c.cpu < 2).map((c) => c.ops)).toEqual([20_000, 20_000]);
    expect(r.attacker.retries).toBeGreaterThan(0);
  });

  it("one worker: the same seed gives the same report, switcher and all", async () => {
    const sc = switched({ ops: 3_000, attacker: true });
    const a = await run(sc, { workers: 1 });
    const b = await run(sc, { workers: 1 });
    expect(deterministic(b)).toEqual(deterministic(a));
    expect(a.switcher.rounds).toBeGreaterThan(0);
  });

  it("a switcher given rounds does that many, even after the mappers are done", async () => {
    const sc = switched({ ops: 500 });
    sc.workloads = sc.workloads.map((w) => (w.kind === "switcher" ? { ...w, ops: 40 } : w));
    const r = await run(sc);
    expect(r.switcher).toEqual({ rounds: 40, switches: 40 });
    expect(r.domains[0]!.dma.switches).toBe(40);
  });

  it("mapping CPUs that keep buffers (nic-rx) are parked for each rebuild and drained between them", async () => {
    const sc: RunScenarioInput = {
      ...switched({ ops: 10_000, workers: 3 }),
      workloads: [
        { kind: "nic-rx", name: "rx", device: "dev", cpus: [0, 1], ops: 10_000, ring: 64 },
        { kind: "switcher", name: "sw", domain: "d", cpus: [2], gap: 200 },
      ],
    };
    const r = await run(sc);
    expect(r.totals.violations).toBe(0);
    expect(r.totals.maps).toBe(r.totals.unmaps); // everything mapped was unmapped by the drain
    expect(r.switcher.switches).toBeGreaterThan(0);
    expect(r.domains[0]!.dma.queueMissing).toBe(0);
  });

  it("ScenarioRun.switchToLazy refuses a domain that has a switcher", async () => {
    const live = await startScenario(switched({ ops: 2_000 }));
    expect(() => live.switchToLazy("d")).toThrow(/must be a domain without a switcher \(sw switches this one/);
    await live.report;
  });
});

describe("a run on a simulator of the caller's", () => {
  it("makes its objects there and destroys them after; the simulator stays the caller's", async () => {
    const sim = await Simulator.create({ profile: "7.1" });
    try {
      const r = await runScenario(switched({ ops: 2_000, workers: 2 }), { simulator: sim });
      expect(r.totals.violations).toBe(0);
      expect(r.switcher.rounds).toBeGreaterThan(0);
      const again = await runScenario(small("nic", 1_000), { simulator: sim, workers: 2 });
      expect(again.totals.ops).toBe(2_000);
      // Nothing of either run is left in it: no page-table page, and its pool is free for the next.
      expect(sim.memoryStats()).toMatchObject({ tablePages: 0, tableAllocations: 0, badFrees: 0 });
      expect(sim.createDmaDomain({ smmu: sim.createSmmu(), cpus: 4 }).id).toBe(0);
      await expect(runScenario(small("nic-tx", 100, { profile: "5.15" }), { simulator: sim }))
        .rejects.toThrow(/simulator must have the scenario's profile \('5\.15'\)/);
    } finally {
      await sim.close();
    }
    expect(WorkerPool.liveWorkers).toBe(0);
  });

  it("gives a contended run the same report every time: no line is left owned by the run before", async () => {
    // Each run makes its domains at the same addresses: line owners kept from the first made
    // the second charge transfers of lines no CPU of its own had written (a machine preset
    // gives a line transfer its cost).
    const sc = small("nic-tx", 300, { contention: true, workers: 1, machine: "snapdragon-x" });
    const bare = (r: RunReport) => ({ ...r, timing: undefined, series: r.series.map((p) => ({ ...p, wallMs: 0 })) });
    const sim = await Simulator.create({ profile: "7.1" });
    try {
      const first = bare(await runScenario(sc, { simulator: sim }));
      expect(first.perCpu[0]!.time.lineTransfer).toBeGreaterThan(0);
      expect(bare(await runScenario(sc, { simulator: sim }))).toEqual(first);
    } finally {
      await sim.close();
    }
  });

  it("takes one run at a time: a second, from runScenario or startScenario, is refused at once", async () => {
    // Two runs would share the machine's CPUs: the second's setup reset the first's workloads
    // and counters (wrong totals), or ran the kheap out (a misleading out-of-memory message).
    const sim = await Simulator.create({ profile: "7.1", kheapMiB: 64 });
    const busy = /^iommu-sim: runScenario: a run is already in progress on this Simulator; wait for its report, or give each run a Simulator of its own$/;
    try {
      const [first, second] = await Promise.allSettled([runScenario(small("nic", 20_000), { simulator: sim }),
                                                        runScenario(small("nic", 20_000), { simulator: sim })]);
      expect(first.status === "fulfilled" && first.value.totals.ops).toBe(40_000);
      expect(second.status === "rejected" && second.reason.message).toMatch(busy);
      const live = await startScenario(small("nic", 20_000), { simulator: sim, keepOpen: true });
      await expect(startScenario(small("nic", 1_000), { simulator: sim })).rejects.toThrow(busy);
      await expect(runScenario(small("nic", 1_000), { simulator: sim })).rejects.toThrow(busy);
      expect((await live.report).totals.ops).toBe(40_000);
      // Its report is in: the simulator takes the next run.
      for (const d of live.domains.values()) d.destroy();
      live.smmu.destroy();
      expect((await runScenario(small("nic", 1_000), { simulator: sim })).totals.ops).toBe(2_000);
    } finally {
      await sim.close();
    }
    expect(WorkerPool.liveWorkers).toBe(0);
  });
});
