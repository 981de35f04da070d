// SMMU throughput: device translations per second with IOTLB hits and with misses (table
// walks, walk cache on), and invalidations (TLBI + CMD_SYNC) per second — the simulator's
// own speed, beside what the same work costs on the modelled hardware (DEFAULT_COSTS).

import { DEFAULT_PROFILE, Simulator, Prot } from "../dist/index.js";

const SZ_4K = 0x1000;
const SZ_1G = 0x40000000;

export async function run({ print, profile = DEFAULT_PROFILE }) {
  const sim = await Simulator.create({ profile, ramMiB: 256 });
  try {
    const pt = sim.createPageTable({ format: "arm-lpae-s1", pgsizeBitmap: 0x40201000, ias: 48, oas: 48, events: 0 });
    for (let off = 0; off < SZ_1G; off += 512 * SZ_4K) pt.mapPages(SZ_1G + off, off, SZ_4K, 512, Prot.READ | Prot.WRITE);
    const dom = sim.createSmmuDomain(pt, { id: 1 });
    const smmu = sim.createSmmu({ microTlb: 0 });
    smmu.attachDevice(1, dom);
    const raw = sim.core.raw;
    const rate = (count, fn) => {
      fn(Math.min(count, 200_000)); // warm up
      const before = smmu.stats().modelledNs;
      const t0 = performance.now();
      fn(count);
      const ms = performance.now() - t0;
      return { perSec: count / ms * 1000, modelledNs: (smmu.stats().modelledNs - before) / count };
    };
    // Hits: 256 KiB of pages, well inside the 2048-entry IOTLB.
    const hits = rate(2_000_000, (n) => raw.smmu_loop_translate(smmu.id, 1, SZ_1G, 64 * SZ_4K, n, 7, 0));
    // Misses: random pages over 1 GiB (262,144 pages against 2048 entries): nearly every access walks.
    const misses = rate(500_000, (n) => raw.smmu_loop_translate(smmu.id, 1, SZ_1G, SZ_1G, n, 9, 0));
    const s = smmu.stats();
    // Invalidations: strict 4K unmap + remap through the driver (TLBI + CMD_SYNC each).
    const n = 100_000;
    sim.cpuModelledNs({ reset: true });
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const iova = SZ_1G + (i % 262144) * SZ_4K;
      pt.unmapPages(iova, SZ_4K, 1);
      pt.mapPages(iova, iova - SZ_1G, SZ_4K, 1, Prot.READ | Prot.WRITE);
    }
    const invPerSec = n / (performance.now() - t0) * 1000;
    const cpuNs = sim.cpuModelledNs() / n;
    print(`SMMU (profile ${profile}): 2048-entry 4-way IOTLB, gem5 walk caches, no micro-TLB`);
    print(`  translations, IOTLB hits:        ${fmt(hits.perSec)}/s   modelled ${hits.modelledNs.toFixed(1)} ns each`);
    print(`  translations, IOTLB misses:      ${fmt(misses.perSec)}/s   modelled ${misses.modelledNs.toFixed(1)} ns each ` +
      `(${(s.pteReads / Math.max(1, s.walks)).toFixed(2)} descriptor reads per walk, ${s.walkCacheHits} walk-cache hits)`);
    print(`  strict unmap+map (TLBI + sync):  ${fmt(invPerSec)}/s   modelled CPU ${cpuNs.toFixed(0)} ns each`);
    return { hits, misses, invPerSec };
  } finally {
    await sim.close();
  }
}

function fmt(r) {
  return r >= 1e6 ? `${(r / 1e6).toFixed(2)} M` : `${(r / 1e3).toFixed(1)} k`;
}
