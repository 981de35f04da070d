// Every failure the core reports, in one namespace. Functions return the negative of one
// of these, as the kernel returns -EINVAL (0 or a value ≥ 0 means success):
//
//   1 … 4095      the kernel's own errnos (include/uapi/asm-generic/errno-base.h and
//                 errno.h), where the simulated kernel code fails with one
//   4096 …        the simulator's own conditions, above the kernel's MAX_ERRNO (4095, the
//                 largest value IS_ERR_VALUE accepts), so the two can never collide
//
// The TypeScript side decodes them in one place (src/errno.ts), by these names; the numbers
// cross the boundary as exported constants and are never copied.

// ── the kernel's errnos ─────────────────────────────────────────────────────
export const EPERM: i32 = 1;
export const ENOMEM: i32 = 12;
export const EBUSY: i32 = 16;
export const EEXIST: i32 = 17;
export const EINVAL: i32 = 22;
export const ENOSPC: i32 = 28;
export const ERANGE: i32 = 34;

// ── the simulator's own conditions ──────────────────────────────────────────
/** Where the simulator's block starts: one past the kernel's MAX_ERRNO. */
export const ESIM_BASE: i32 = 4096;
/** The shared memory was not laid out by core_init (or was laid out by another build). */
export const ESIM_NOT_READY: i32 = ESIM_BASE + 1;
/** core_init ran on this memory already. */
export const ESIM_ALREADY_READY: i32 = ESIM_BASE + 2;
/** The memory is too small for the static area, the kheap and 16 frames of RAM. */
export const ESIM_MEMORY_TOO_SMALL: i32 = ESIM_BASE + 3;
/** A thread slot beyond MAX_THREADS. */
export const ESIM_THREAD_SLOT: i32 = ESIM_BASE + 4;
/** An argument out of the range the call accepts (the bindings check first; this is the core's guard). */
export const ESIM_ARGS: i32 = ESIM_BASE + 5;
/** Every slot of that kind of object (page table, domain, device, SMMU) is in use. */
export const ESIM_SLOTS_FULL: i32 = ESIM_BASE + 6;
/** The simulator's private memory (kheap) is exhausted: not the simulated kernel's. */
export const ESIM_KHEAP: i32 = ESIM_BASE + 7;
/** No live page table with that id. */
export const ESIM_NO_TABLE: i32 = ESIM_BASE + 8;
/** No live IOVA domain with that id. */
export const ESIM_NO_IOVA_DOMAIN: i32 = ESIM_BASE + 9;
/** No live DMA domain with that id. */
export const ESIM_NO_DMA_DOMAIN: i32 = ESIM_BASE + 10;
/** No attached DMA device with that id. */
export const ESIM_NO_DEVICE: i32 = ESIM_BASE + 11;
/** No live SMMU with that id. */
export const ESIM_NO_SMMU: i32 = ESIM_BASE + 12;
/** No live SMMU domain with that id. */
export const ESIM_NO_SMMU_DOMAIN: i32 = ESIM_BASE + 13;
/** A simulated CPU the domain (or the machine) does not have. */
export const ESIM_CPU: i32 = ESIM_BASE + 14;
/** Another thread runs that simulated CPU; its slot + 1 is in the caller's RESULT0. */
export const ESIM_CPU_BUSY: i32 = ESIM_BASE + 15;
/** The flush queue the call needs does not exist (not built, or read as not yet built). */
export const ESIM_NO_QUEUE: i32 = ESIM_BASE + 16;
/** The SMMU's safety oracle is enabled already. */
export const ESIM_ORACLE_ENABLED: i32 = ESIM_BASE + 17;
/** v5.15.16's alloc_iova would retry forever here (start_pfn reachable): refused instead. */
export const ESIM_WOULD_HANG: i32 = ESIM_BASE + 18;
/** The workload slot of that CPU was never set up (wl_init). */
export const ESIM_NO_WORKLOAD: i32 = ESIM_BASE + 19;
/** The page table already reports to another SMMU domain (one domain per table, as the driver has it). */
export const ESIM_TABLE_HAS_SMMU_DOMAIN: i32 = ESIM_BASE + 20;
/** A raw SMMU command whose opcode the SMMUv3 architecture does not define (the SMMU's CERROR_ILL). */
export const ESIM_CMD_ILLEGAL: i32 = ESIM_BASE + 21;
/**
 * alloc_iova handed out a range that wrapped past the top of the PFN space (a kernel without
 * KB_IOVA_LIMIT_NO_UNDERFLOW returns it as a success): it is in the tree, and its bounds are
 * in the caller's RESULT0/RESULT1, since no return value ≥ 0 can carry them.
 */
export const ESIM_IOVA_WRAPPED: i32 = ESIM_BASE + 26;
/** A flush-queue ring was reached after teardown freed it (its memory poisoned): a use-after-free. */
export const ESIM_FQ_FREED: i32 = ESIM_BASE + 28;
/** Asked of an SMMU of the other model: a command for an SMMU v1/v2 (no queue), a register for an SMMUv3. */
export const ESIM_SMMU_MODEL: i32 = ESIM_BASE + 22;
/** Every context bank or stream match register of the SMMU v1/v2 is in use. */
export const ESIM_NO_CONTEXT_BANK: i32 = ESIM_BASE + 23;

// Why alloc_io_pgtable_ops would return NULL for a configuration (the kernel gives no
// reason; these are ours, one per check it makes).
/** Unknown page-table format. */
export const ESIM_PGT_FORMAT: i32 = ESIM_BASE + 32;
/** A quirk this format and kernel do not accept. */
export const ESIM_PGT_QUIRKS: i32 = ESIM_BASE + 33;
/** The page-size bitmap leaves no 4K, 16K or 64K granule. */
export const ESIM_PGT_GRANULE: i32 = ESIM_BASE + 34;
/** The input address size is above what the format supports. */
export const ESIM_PGT_IAS: i32 = ESIM_BASE + 35;
/** The output address size is above 52 bits or not one the hardware can encode. */
export const ESIM_PGT_OAS: i32 = ESIM_BASE + 36;
/** The ARM_OUTER_WBWA quirk with a coherent walk. */
export const ESIM_PGT_OUTER_WBWA: i32 = ESIM_BASE + 37;
/** Mandatory stage-2 concatenation would need more than 16 tables (the kernel WARNs). */
export const ESIM_PGT_S2_CONCAT: i32 = ESIM_BASE + 38;
/** The input address size leaves no bits to translate above the granule. */
export const ESIM_PGT_VA_BITS: i32 = ESIM_BASE + 39;
/** A cache (an IOTLB, a walk cache) of this geometry does not fit the largest block of the kheap. */
export const ESIM_CACHE_TOO_BIG: i32 = ESIM_BASE + 40;
