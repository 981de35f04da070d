// dma_map_benchmark on modelled time (src/bench/map-benchmark.ts): the tool's output per
// kernel version, the kernel's integer statistics, its -EINVAL checks, short real runs
// against the published SMMUv3 ranges, and the `iommu-sim bench` command.

import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import {
  ArgumentError, UnknownOptionError, WorkerPool, formatMapBenchmark, mapBenchmarkStats, runMapBenchmark,
  type MapBenchmarkOptions,
} from "../dist/index.js";

const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));

/** The kernel's per-sample truncation, then its four sums. */
function sumsOf(mapNs: number[], unmapNs: number[]) {
  const m = mapNs.map((ns) => BigInt(Math.floor(ns / 100)));
  const u = unmapNs.map((ns) => BigInt(Math.floor(ns / 100)));
  const sum = (xs: bigint[]) => xs.reduce((a, b) => a + b, 0n);
  return { loops: BigInt(m.length), sumMap: sum(m), sumUnmap: sum(u),
           sumSqMap: sum(m.map((x) => x * x)), sumSqUnmap: sum(u.map((x) => x * x)) };
}

describe("the tool's output", () => {
  const r = { threads: 4, seconds: 20, node: -1, dir: 1, granule: 256, mapMode: 0,
              avgMap100ns: 8, mapStddev100ns: 0, avgUnmap100ns: 212, unmapStddev100ns: 15 };

  it("prints v7.1's format", () => {
    expect(formatMapBenchmark(r, "7.1")).toBe([
      "dma mapping benchmark(SINGLE_MODE): threads:4 seconds:20 node:-1 dir:TO_DEVICE granule:256",
      "average map latency(us):0.8 standard deviation:0.0",
      "average unmap latency(us):21.2 standard deviation:1.5",
    ].join("\n"));
  });

  it("prints v5.15's format, with its space after 'granule:'", () => {
    expect(formatMapBenchmark({ ...r, dir: 2, granule: 1, avgUnmap100ns: 6, unmapStddev100ns: 123 }, "5.15")).toBe([
      "dma mapping benchmark: threads:4 seconds:20 node:-1 dir:FROM_DEVICE granule: 1",
      "average map latency(us):0.8 standard deviation:0.0",
      "average unmap latency(us):0.6 standard deviation:12.3",
    ].join("\n"));
  });
});

describe("the kernel's integer statistics", () => {
  it("truncates each sample to 100 ns, then averages and takes int_sqrt of the integer variance", () => {
    // map samples 150, 199, 250, 499 ns → 1, 1, 2, 4: Σ 8, Σ² 22; avg 8/4 = 2; var 22/4 − 4 = 5 − 4 = 1 → 1.
    // unmap 1150, 1199, 1234, 3099 ns → 11, 11, 12, 30: Σ 64, Σ² 1286; avg 16; var 321 − 256 = 65 → 8.
    const s = mapBenchmarkStats(sumsOf([150, 199, 250, 499], [1150, 1199, 1234, 3099]));
    expect(s).toEqual({ avgMap100ns: 2n, mapStddev100ns: 1n, avgUnmap100ns: 16n, unmapStddev100ns: 8n,
                        mapVarianceWrapped: false, unmapVarianceWrapped: false });
  });

  it("reports 0 for operations under 100 ns, and all zeros without a finished loop", () => {
    const s = mapBenchmarkStats(sumsOf([99, 50, 0], [99, 99, 100]));
    expect([s.avgMap100ns, s.mapStddev100ns, s.avgUnmap100ns, s.unmapStddev100ns]).toEqual([0n, 0n, 0n, 0n]);
    expect(mapBenchmarkStats({ loops: 0n, sumMap: 0n, sumUnmap: 0n, sumSqMap: 0n, sumSqUnmap: 0n }).avgMap100ns).toBe(0n);
  });

  it("wraps a negative variance in u64 as the kernel would, and says so", () => {
    // Only sums that are not a real sample's (a wrapped sum) can do this: Σ 10, Σ² 0, 1 loop.
    const s = mapBenchmarkStats({ loops: 1n, sumMap: 10n, sumUnmap: 0n, sumSqMap: 0n, sumSqUnmap: 0n });
    expect(s.mapVarianceWrapped).toBe(true);
    expect(s.mapStddev100ns).toBe(4294967295n); // int_sqrt64(2^64 − 100)
    expect(s.unmapVarianceWrapped).toBe(false);
  });
});

describe("the ioctl's -EINVAL checks", () => {
  const bad: [MapBenchmarkOptions, RegExp][] = [
    [{ threads: 0 }, /threads must be an integer in \[1, 1024\] \(the kernel refuses it with -EINVAL: "invalid thread number"\), got 0/],
    [{ seconds: 301 }, /seconds must be an integer in \[1, 300\] .*"invalid duration seconds"/],
    [{ granule: 1025 }, /granule must be an integer in \[1, 1024\] .*"invalid granule size"/],
    [{ dir: 3 }, /dir must be an integer in \[0, 2\] .*"invalid DMA direction"/],
    [{ transNs: 10_000_001 }, /transNs must be an integer in \[0, 10000000\] .*"invalid transmission delay"/],
    [{ dmaBits: 19 }, /dmaBits must be an integer in \[20, 64\]/],
    [{ node: 1 }, /node must be -1 \(NUMA_NO_NODE\) or 0.*"invalid numa node"/],
    [{ threads: 129 }, /threads must be at most 128: the simulator models up to 128 CPUs/],
    [{ mapMode: 1 }, /scatter-gather mode \(dma_map_sg\) is not modelled/],
    [{ mapMode: 1, profile: "5.15" }, /the 5.15 ABI has no map_mode/],
  ];
  it.each(bad)("refuses %j", async (opts, msg) => {
    await expect(runMapBenchmark(opts)).rejects.toThrow(msg);
  });

  it("refuses an unknown option, cost or signal as every call does, naming dma_map_benchmark and its own option", async () => {
    const refused = (opts: unknown) => runMapBenchmark(opts as MapBenchmarkOptions).then(() => new Error("no error"), (e: Error) => e);
    const secs = await refused({ secs: 2 });
    expect(secs).toBeInstanceOf(UnknownOptionError);
    expect(secs.message).toMatch(/^dma_map_benchmark: secs is not a known option \(did you mean 'seconds'\?\); known: threads, seconds, /);
    expect((await refused({ thread: 2 })).message).toMatch(/^dma_map_benchmark: thread is not a known option \(did you mean 'threads'\?\)/);
    const cpu = await refused({ cpuCosts: { lokc: 1 } });
    expect(cpu).toBeInstanceOf(UnknownOptionError);
    expect(cpu.message).toMatch(/^dma_map_benchmark: cpuCosts\.lokc is not a known CPU cost \(did you mean 'lock'\?\); known: lock, /);
    const smmu = await refused({ smmuCosts: { foo: 1 } });
    expect(smmu).toBeInstanceOf(UnknownOptionError);
    expect(smmu.message).toMatch(/^dma_map_benchmark: smmuCosts\.foo is not a known SMMU cost; known: pteRead, /);
    expect((await refused({ smmuCosts: { sync: -1 } })).message).toMatch(/^dma_map_benchmark: smmuCosts\.sync must be an integer/);
    // Over a machine's costs: its CMD_SYNC must still cover the claim, the MMIO write and the wake.
    expect((await refused({ machine: "snapdragon-x", smmuCosts: { sync: 0 } })).message)
      .toMatch(/^dma_map_benchmark: smmuCosts\.sync must be at least smmuCosts\.cmdqClaim \+ smmuCosts\.mmio/);
    const signal = await refused({ signal: {} });
    expect(signal).toBeInstanceOf(ArgumentError);
    expect(signal.message).toBe("dma_map_benchmark: signal must be an AbortSignal, got an object");
    expect(WorkerPool.liveWorkers).toBe(0);
  });

  it("ends the run with -ENOMEM when a thread's map fails, as the ioctl does", async () => {
    // A 20-bit mask leaves 1 MiB of IOVA space; 512 pages do not fit.
    await expect(runMapBenchmark({ dmaBits: 20, granule: 512, seconds: 1 })).rejects.toThrow(/-ENOMEM.*20-bit DMA mask/);
  });
});

describe("short runs on modelled time", () => {
  it("strict: map ≈ 0.1 µs and unmap in the published SMMUv3 range; lazy unmaps cheaper", async () => {
    const strict = await runMapBenchmark({ seconds: 1, mode: "strict" });
    const lazy = await runMapBenchmark({ seconds: 1, mode: "lazy" });
    for (const r of [strict, lazy]) {
      expect(r.avgMap100ns).toBe(1); // 0.1 µs
      expect(r.perThread[0]!.modelledNs).toBeGreaterThanOrEqual(1e9);
      expect(r.jiffies).toBe(250); // one modelled second at HZ = 250
      expect(r.stoppedEarly).toBeUndefined();
    }
    expect(strict.avgUnmap100ns).toBeGreaterThanOrEqual(6); // Morello 0.6 µs …
    expect(strict.avgUnmap100ns).toBeLessThanOrEqual(18); // … Snapdragon X 1.8 µs
    expect(lazy.avgUnmap100ns).toBeLessThan(strict.avgUnmap100ns);
    expect(strict.dma.syncs).toBe(strict.loops); // a CMD_SYNC per strict unmap …
    expect(lazy.dma.syncs).toBe(0); // … none on the lazy path: the flush queue's flush-all instead
    expect(lazy.smmu.tlbi.context).toBeGreaterThanOrEqual(Math.floor(lazy.loops / 255));
    // The same flushes by their SMMUv3 name (stage 1: a flush-all is CMD_TLBI_NH_ASID).
    expect(lazy.smmu.commandsByKind.CMD_TLBI_NH_ASID).toBe(lazy.smmu.tlbi.context);
  });

  it("two threads on two workers: they queue for the SMMU, and simulated time passes once", async () => {
    const strict = await runMapBenchmark({ seconds: 1, mode: "strict", threads: 2, workers: 2 });
    expect(strict.jiffies).toBe(250);
    expect(strict.perThread.map((t) => t.loops > 0)).toEqual([true, true]);
    expect(strict.avgMap100ns).toBe(1);
    // One thread alone: 1.1 µs. Two: each CMD_SYNC also waits for the other's TLBI and sync
    // (1.05 µs of the SMMU's time each), so about 2 × 1.05 µs minus the map — exactly so on
    // one worker, and within the clocks' bound (a quantum plus an iteration) on two.
    const one = await runMapBenchmark({ seconds: 1, mode: "strict", threads: 2, workers: 1 });
    expect(one.avgUnmap100ns).toBeGreaterThanOrEqual(18);
    expect(one.avgUnmap100ns).toBeLessThanOrEqual(21);
    const bound = (strict.quantumNs + (one.avgMap100ns + one.avgUnmap100ns) * 100) / 100;
    expect(Math.abs(strict.avgUnmap100ns - one.avgUnmap100ns)).toBeLessThanOrEqual(bound);
    const lazy = await runMapBenchmark({ seconds: 1, mode: "lazy", threads: 2, workers: 2, maxLoops: 300_000 });
    expect(lazy.stoppedEarly).toBe("maxLoops");
    expect(lazy.loops).toBe(600_000);
    expect(lazy.avgMap100ns).toBe(1);
    expect(lazy.avgUnmap100ns).toBeLessThan(strict.avgUnmap100ns);
  });

  it("an onProgress that throws stops the run, which rejects with its error", async () => {
    const blew = new Error("progress callback blew up");
    let calls = 0;
    // 300 modelled seconds take minutes of wall time: the callback's first call ends the run.
    const run = runMapBenchmark({ seconds: 300, onProgress: () => { calls++; throw blew; } });
    await expect(run).rejects.toBe(blew);
    expect(calls).toBe(1);
  });

  it("stops early on its signal, with what it did so far", async () => {
    const ac = new AbortController();
    ac.abort();
    const r = await runMapBenchmark({ seconds: 300, signal: ac.signal });
    expect(r.stoppedEarly).toBe("signal");
    expect(r.loops).toBe(0);
  });
});

describe("iommu-sim bench", () => {
  it("prints the tool's block for a strict and a lazy domain and exits 0", () => {
    const p = spawnSync(process.execPath, [CLI, "bench", "-s", "1"], { encoding: "utf8" });
    // The tool's lines stay as the kernel prints them; which clock they are on goes to standard error.
    expect(p.stderr).toMatch(/^iommu-sim bench: every latency above is modelled time \(the cost model's\), not this machine's; the run took [\d.]+ s of wall time\n$/);
    expect(p.status).toBe(0);
    const lines = p.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(8);
    expect(lines[0]).toBe("iommu.strict=1 (DMA domain):");
    expect(lines[1]).toBe("dma mapping benchmark(SINGLE_MODE): threads:1 seconds:1 node:-1 dir:BIDIRECTIONAL granule:1");
    expect(lines[2]).toMatch(/^average map latency\(us\):0\.1 standard deviation:\d+\.\d$/);
    expect(lines[3]).toMatch(/^average unmap latency\(us\):1\.\d standard deviation:\d+\.\d$/);
    expect(lines[4]).toBe("iommu.strict=0 (DMA-FQ domain):");
    expect(lines[5]).toBe(lines[1]);
    expect(lines[6]).toMatch(/^average map latency\(us\):0\.1 /);
    expect(lines[7]).toMatch(/^average unmap latency\(us\):0\.\d standard deviation:\d+\.\d$/);
  });

  it("refuses -t 0 with one line and exit code 2", () => {
    const p = spawnSync(process.execPath, [CLI, "bench", "-t", "0"], { encoding: "utf8" });
    expect(p.status).toBe(2);
    expect(p.stdout).toBe("");
    expect(p.stderr.trimEnd().split("\n")).toEqual([expect.stringMatching(/^iommu-sim: .*threads must be .*invalid thread number/)]);
  });
});
