// The memory map as the TypeScript side sees it: read from the Wasm module's exported
// immutable globals (assembly/memmap.ts is the single source of truth), never hand-copied.

/** Names of the layout constants the core exports (see assembly/index.ts). */
const LAYOUT_NAMES = [
  "LAYOUT_MAGIC", "ABI_VERSION", "STATIC_END", "DYNAMIC_BASE", "THREAD_SLOTS_BASE",
  "THREAD_SLOT_SIZE", "MAX_THREADS", "TS_RESULT0", "TS_RESULT1", "PGT_BASE", "PGT_DESC_SIZE",
  "MAX_PGTABLES", "ZONE_PHYS", "ZONE_KHEAP", "FRAME_SIZE", "PHYS_BASE_LO", "PHYS_BASE_HI",
  "Z_FRAMES", "Z_NFRAMES", "Z_PAGES_LIVE", "Z_ALLOCS_LIVE", "Z_BAD_FREES", "Z_ALLOC_FAIL", "Z_ALLOCS_TOTAL",
  "Z_FREES_TOTAL", "Z_PEAK_PAGES",
  "D_STATE", "D_FMT", "D_PROFILE", "D_QUIRKS", "D_COHERENT", "D_IAS", "D_OAS", "D_PG_SHIFT",
  "D_BPL", "D_START_LEVEL", "D_PGD_BITS", "D_LEVELS", "D_PGSIZE_BITMAP", "D_PGD_PA",
  "D_PGD_BYTES", "D_FLAGS", "D_TCR_TSZ", "D_TCR_PS", "D_TCR_TG", "D_TCR_SH", "D_TCR_IRGN",
  "D_TCR_ORGN", "D_TCR_SL", "D_MAIR", "D_EV_RING", "D_EV_MASK", "D_EV_HEAD", "D_WARNINGS",
  "DF_RECORD_EVENTS", "DF_SELFTEST", "EVENT_SIZE",
  "UNMAP_NULL_GATHER", "UNMAP_GATHER", "UNMAP_GATHER_QUEUED", "UNMAP_SYNC", "ERR_NO_TABLE",
  // IOVA domains and simulated time
  "CLOCK_JIFFIES_ADDR", "IOVA_SLOTS_BASE", "IOVA_SLOT_SIZE", "MAX_IOVA_DOMAINS", "IOVA_MAX_CPUS",
  "IS_STATE", "IS_BLOCK", "I_PROFILE", "I_NCPUS", "I_SHIFT", "I_MAG_SIZE", "I_FLAGS", "I_OWNERS",
  "I_RCACHES", "I_START_PFN", "I_DMA32_PFN", "I_TREE_LOCK", "I_ROOT", "I_CACHED", "I_CACHED32",
  "I_NODES", "I_MAX32", "I_ANCHOR", "I_ST_ALLOCS", "I_ST_ALLOC_FAILS", "I_ST_FREES",
  "I_ST_WALK_STEPS", "I_ST_WALK_MAX", "I_ST_SEARCH_MISMATCH", "I_ST_BELOW_START",
  "I_ST_UNKNOWN_FREES", "I_ST_RETRIES", "I_ST_WARNINGS", "I_ST_BAD_FAST_FREES",
  "I_ST_MAG_ALLOC_FAILS", "I_ST_FLUSH_RETRIES", "I_ST_DEPOT_RECLAIMS", "I_ST_DEPOT_DRAINS",
  "I_ST_ZERO_PFN_FAST", "I_ST_BUGS", "I_NODE_POOL", "I_MAG_POOL", "POOL_LIVE", "I_EV_HEAD", "I_EV_RING",
  "IEV_ENTRIES", "IEV_SIZE", "I_DEPOT", "DEPOT_STRIDE", "DP_LOCK", "DP_SIZE", "DP_HEAD",
  "DP_ARRAY", "DP_WORK_PENDING", "DP_WORK_DUE", "OWNER_STRIDE", "PC_STRIDE", "PC_LOCK",
  "PC_LOADED", "PC_PREV", "PC_HITS", "PC_MISSES", "M_SIZE", "M_PFNS", "RCACHE_BINS",
  "IF_FAIL_ATOMIC", "IF_NO_DEPOT_LOCK", "IF_VERIFY_SEARCH", "IF_LINEAR_SEARCH",
  "IF_CHECK_FAST_FREES", "N_LO", "N_HI", "N_LEFT", "N_RIGHT",
  "IOVA_ERR_NO_DOMAIN", "IOVA_ERR_CPU", "IOVA_ERR_SIZE", "IOVA_ERR_CPU_BUSY",
  "FAST_SIZES_ONE", "FAST_SIZES_POW2", "FAST_SIZES_1_TO_8", "TREE_POPULATE", "TREE_PAIRS",
  "TREE_REFILL",
] as const;

export type LayoutName = (typeof LAYOUT_NAMES)[number];
export type Layout = Readonly<Record<LayoutName, number>> & { readonly PHYS_BASE: number };

export function readLayout(exports: WebAssembly.Exports): Layout {
  const out: Record<string, number> = {};
  for (const name of LAYOUT_NAMES) {
    const g = exports[name];
    if (!(g instanceof WebAssembly.Global)) {
      throw new Error(`iommu-sim: core.wasm does not export the layout constant ${name}; ` +
        `the module and this package are from different builds`);
    }
    out[name] = Number(g.value);
  }
  out.PHYS_BASE = out.PHYS_BASE_HI! * 2 ** 32 + out.PHYS_BASE_LO!;
  return Object.freeze(out) as Layout;
}
