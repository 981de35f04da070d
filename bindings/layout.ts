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
  "DF_RECORD_EVENTS", "DF_SELFTEST", "DF_FAULT_PLAIN_INSTALL", "D_SMMU_DOMAIN", "EVENT_SIZE",
  "EV_TLB_ADD_PAGE", "EV_TLB_FLUSH_WALK", "EV_TLB_FLUSH_ALL", "EV_IOTLB_SYNC", "EV_WARN", "EV_CMD",
  "WARN_MAP_PGSIZE", "WARN_MAP_RANGE", "WARN_MAP_EXISTS", "WARN_MAP_REPLACE_TABLE",
  "WARN_MAP_LAST_LEVEL", "WARN_UNMAP_ARGS", "WARN_UNMAP_RANGE", "WARN_UNMAP_NO_PTE",
  "WARN_UNMAP_PARTIAL_BLOCK", "WARN_OUT_OF_LEVELS", "SMMU_FEAT_RANGE_INV", "SMMU_FEAT_E2H",
  "SMMUS_BASE", "SMMU_DESC_SIZE", "MAX_SMMUS", "TS_CPU_NS", "S_STATS", "S_COSTS", "S_FAULTS",
  "S_FAULT_MASK", "S_FAULT_HEAD", "S_IOTLB", "S_WALKC", "FAULT_SIZE", "MAX_STREAMS",
  "OPT_INVALIDATE_AT_SYNC", "OPT_TTL_STRICT", "OPT_FAULT_DROP_TLBI", "C_HITS", "C_MISSES", "C_FILLS", "C_EVICTIONS",
  "C_INVALIDATED", "META_READ", "META_WRITE", "OP_TLBI_NH_ALL", "OP_TLBI_NH_ASID", "OP_TLBI_NH_VA", "OP_TLBI_NH_VAA",
  "OP_TLBI_EL2_ALL", "OP_TLBI_EL2_ASID", "OP_TLBI_EL2_VA", "OP_TLBI_S12_VMALL", "OP_TLBI_S2_IPA",
  "OP_TLBI_NSNH_ALL", "OP_CMD_SYNC", "S_ORACLE", "O_RING", "O_RING_MASK", "O_RING_HEAD", "O_COUNTERS",
  "VIOLATION_SIZE", "AC_OK", "AC_LAZY_WINDOW", "AC_AFTER_STRICT", "AC_AFTER_FLUSH", "AC_USE_AFTER_FREE",
  "AC_UNKNOWN", "AC_FREED_TABLE", "AC_FULL", "SH_MAPPED", "SH_UNMAPPED_STRICT", "SH_UNMAPPED_LAZY",
  "SD_FLUSH_GEN", "SMMU_DOMAINS_BASE", "SMMU_DOMAIN_SIZE", "RING_HEADER", "DESC_SIZE", "R_CAPACITY",
  "R_HISTORY_MASK", "R_PROD", "R_CONS", "R_STATS", "RS_COMPLETED", "RS_FAULTED", "RS_BYTES", "RS_RETRIES",
  "RS_RETRIES_THROUGH", "DESC_WRITE",
  "STAT_TRANSLATIONS", "STAT_UTLB_HITS", "STAT_IOTLB_HITS", "STAT_IOTLB_MISSES", "STAT_WALKS",
  "STAT_PTE_READS", "STAT_WALKC_HITS", "STAT_FAULTS", "STAT_TLBI_VA", "STAT_TLBI_CONTEXT",
  "STAT_TLBI_ALL", "STAT_SYNCS", "STAT_CMDS", "STAT_ENTRIES_INVALIDATED", "STAT_MODELLED_NS",
  "COST_PTE_READ", "COST_IOTLB_HIT", "COST_IOTLB_MISS", "COST_WALKC_HIT", "COST_TLBI", "COST_SYNC",
  "COST_LOCK", "COST_UTLB_HIT", "F_BAD_STREAM", "F_TRANSLATION", "F_ADDR_SIZE", "F_ACCESS",
  "F_PERMISSION", "F_WALK_EABT", "HIT_UTLB", "HIT_IOTLB", "HIT_WALK", "ACCESS_WRITE",
  "ACCESS_PRIV",
  "UNMAP_NULL_GATHER", "UNMAP_GATHER", "UNMAP_GATHER_QUEUED", "UNMAP_SYNC", "ERR_NO_TABLE",
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
