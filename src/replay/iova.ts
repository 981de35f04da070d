// The IOVA-allocator commands of the replay language (shared/conformance/README.md):
// ncpus, init, cpu, alloc, fast, free, ffree, reserve, find, tree, tree_count, rcache,
// rcache_summary, state, flushcpu, flushall, tick, failatomic, put. Output follows the
// kernel-code harness line for line; WARNINGs print where the kernel warned, before the
// command's own result; and the v5.15 flush queue's fqinit and queue (assembly/iova/fq.ts).
//
// Calls go through the public IovaDomain API, in `raw` form where the kernel accepts what
// the API would refuse (a limit below start_pfn, for alloc and fast alike: the kernel's tree
// search fails, and its cache check wraps).

import type { Simulator } from "../simulator.js";
import { IovaDomain, IovaWrappedError, IOVA_WARN_TEXT, type CpuRcache } from "../iova.js";
import { hex } from "../errors.js";
import type { Args, CommandFamily, ReplayOutput } from "./args.js";

export class IovaCommands implements CommandFamily {
  private ncpus = 1;
  private cpu = 0;
  /** failatomic's setting: the harness's allocator flag, so it holds before init and for every domain after. */
  private failAtomic = false;
  private dom: IovaDomain | undefined;

  constructor(private readonly sim: Simulator, private readonly out: ReplayOutput,
              private readonly search: "fast" | "linear" | "verify" = "fast") {}

  run(cmd: string, a: Args): boolean {
    switch (cmd) {
      case "ncpus": a.atMost(1); this.setNcpus(a.num(0, "N")); break;
      case "init": a.atMost(2); this.init(a.num(0, "GRANULE"), a.num(1, "START_PFN")); break;
      case "cpu": a.atMost(1); this.setCpu(a.num(0, "N")); break;
      case "alloc": a.atMost(3); this.alloc(a); break;
      case "fast": a.atMost(3); this.fast(a); break;
      case "free":
        // `free` with no argument is the page-table command.
        if (a.length === 0) return false;
        a.atMost(1);
        this.after(() => { this.domain().free(a.num(0, "PFN")); return "ok"; });
        break;
      case "ffree": a.atMost(2); this.after(() => { this.domain().freeFast(this.cpu, a.num(0, "PFN"), a.num(1, "SIZE")); return "ok"; }); break;
      case "reserve": a.atMost(2); this.reserve(a); break;
      case "find": a.atMost(1); this.find(a); break;
      case "tree": a.atMost(0); this.tree(); break;
      case "tree_count": a.atMost(0); this.out.line(`${this.domain().treeNodes()} nodes (incl. anchor)`); break;
      case "rcache": a.atMost(0); this.rcache(false); break;
      case "rcache_summary": a.atMost(0); this.rcache(true); break;
      case "state": a.atMost(0); this.state(); break;
      case "flushcpu": a.atMost(1); this.after(() => { this.domain().flushCpu(this.cpuArg(a.num(0, "N"))); return "ok"; }); break;
      case "flushall": a.atMost(0); this.after(() => { this.domain().flushAll(); return "ok"; }); break;
      case "tick": a.atMost(1); this.tick(a.num(0, "N")); break;
      case "failatomic": a.atMost(1); this.failatomic(a.flag(0, "FAIL")); break;
      case "put": a.atMost(0); this.put(); break;
      case "fqinit": a.atMost(0); this.fqinit(); break;
      case "queue": a.atMost(3); this.queue(a); break;
      default: return false;
    }
    return true;
  }

  close(): void {
    if (this.dom && !this.dom.isDestroyed) this.destroy(this.dom);
    this.dom = undefined;
  }

  private destroy(d: IovaDomain): number {
    const mismatches = d.stats().searchMismatches;
    const live = d.destroy();
    if (mismatches) throw new Error(`the O(log n) search disagreed with the kernel's walk ${mismatches} time(s)`);
    return live;
  }

  private domain(): IovaDomain {
    if (!this.dom || this.dom.isDestroyed) throw new Error("no IOVA domain: an 'init' must come first");
    return this.dom;
  }

  /** Run an operation, print the WARNINGs it raised, then its result line. */
  private after(op: () => string): void {
    const d = this.domain();
    let result: string;
    try {
      result = op();
    } finally {
      this.printWarnings(d);
    }
    this.out.line(result);
  }

  /** The domain's events in order: WARNINGs, and the flush queue's callback and destructor calls. */
  private printWarnings(d: IovaDomain): void {
    for (const e of d.takeEvents()) {
      if (e.kind === "warn") this.out.warning(`${IOVA_WARN_TEXT[e.code]} (pfn ${hex(e.value)})`);
      else if (e.kind === "fq-flush") this.out.line("  [flush_cb: IOTLB invalidate-all]");
      else this.out.line(`  [fq entry released: data=${e.data}]`);
    }
  }

  /** fqinit: the v5.15 flush queue; prints init_iova_flush_queue's return value. */
  private fqinit(): void {
    this.domain().fqInit();
    this.out.line("0");
  }

  /** queue PFN PAGES DATA on the current CPU: what it released, then the counters. */
  private queue(a: Args): void {
    const d = this.domain();
    const pfn = a.num(0, "PFN"), pages = a.num(1, "PAGES"), data = a.num(2, "DATA");
    this.out.line("");
    let c;
    try {
      c = d.queue(this.cpu, pfn, pages, data);
    } finally {
      this.printWarnings(d);
    }
    this.out.line(`  queued (start_cnt=${c.startCnt} finish_cnt=${c.finishCnt})`);
  }

  private setNcpus(n: number): void {
    if (this.dom) throw new Error("ncpus must come before init");
    const most = this.sim.core.layout.IOVA_MAX_CPUS;
    if (!Number.isInteger(n) || n < 1 || n > most) throw new Error(`N must be 1..${most}, got ${n}`);
    this.ncpus = n;
    this.out.line("ok");
  }

  private init(granule: number, startPfn: number): void {
    this.close();
    this.dom = this.sim.createIovaDomain({ granule, startPfn, cpus: this.ncpus, search: this.search });
    if (this.failAtomic) this.dom.setFailAtomic(true);
    this.cpu = 0;
    this.out.line(`ok dma_32bit_pfn=${hex(this.dom.dma32BitPfn)}`);
  }

  private cpuArg(n: number): number {
    if (n >= this.ncpus) throw new Error(`CPU ${n} does not exist: ncpus is ${this.ncpus}`);
    return n;
  }

  private setCpu(n: number): void {
    this.cpu = this.cpuArg(n);
    this.out.line("ok");
  }

  private alloc(a: Args): void {
    const size = a.num(0, "SIZE");
    const limit = a.num(1, "LIMIT");
    const aligned = a.flag(2, "ALIGNED");
    this.after(() => {
      try {
        const r = this.domain().alloc(size, limit, aligned, { raw: true });
        return r ? `${hex(r.lo)} ${hex(r.hi)}` : "FAIL";
      } catch (e) {
        // A kernel without IOVA_LIMIT_NO_UNDERFLOW prints the wrapped range as its result.
        if (e instanceof IovaWrappedError) return `${hex(e.lo)} ${hex(e.hi)}`;
        throw e;
      }
    });
  }

  private fast(a: Args): void {
    const size = a.num(0, "SIZE");
    const limit = a.num(1, "LIMIT");
    const flush = a.flag(2, "FLUSH");
    this.after(() => hex(this.domain().allocFast(this.cpu, size, limit, flush, { raw: true })));
  }

  private reserve(a: Args): void {
    const lo = a.num(0, "LO");
    const hi = a.num(1, "HI");
    this.after(() => {
      const r = this.domain().reserve(lo, hi);
      return r ? `${hex(r.lo)} ${hex(r.hi)}` : "FAIL";
    });
  }

  private find(a: Args): void {
    const r = this.domain().find(a.num(0, "PFN"));
    this.out.line(r ? `${hex(r.lo)} ${hex(r.hi)}` : "NONE");
  }

  private tree(): void {
    const ranges = this.domain().rangesExact();
    this.out.line(ranges.length === 0 ? "(empty)" : ranges.map((r) => `[${hex(r.lo)}-${hex(r.hi)}]`).join(" "));
  }

  private state(): void {
    const s = this.domain().state();
    this.out.line(`cached=${hex(s.cachedNode)} cached32=${hex(s.cached32Node)} max32_alloc_size=${hex(s.max32AllocSize)}`);
  }

  private rcache(summary: boolean): void {
    const d = this.domain();
    const st = d.rcacheState();
    this.out.line("");
    for (const bin of st.bins) {
      const parts = [`order${bin.order}:`];
      bin.cpus.forEach((c: CpuRcache, i) => {
        parts.push(`cpu${i}`, summary ? `L=${c.loaded.length}` : mag("L", c.loaded), summary ? `P=${c.prev.length}` : mag("P", c.prev));
      });
      if (summary) parts.push(`depot=${bin.depot.length}`);
      else {
        parts.push(`depot[${bin.depot.length}]`);
        for (const m of bin.depot) parts.push(mag("D", m));
      }
      this.out.line(parts.join(" "));
    }
    if (summary) this.out.line(`rbtree nodes (incl. anchor): ${d.treeNodes()}`);
  }

  /** tick N: the clock is the machine's, so it runs with no IOVA domain too (nothing is then due). */
  private tick(n: number): void {
    const d = this.dom && !this.dom.isDestroyed ? this.dom : undefined;
    this.sim.tick(n, { cpu: this.cpu }); // timers run on the current CPU, as in the harness
    if (d) this.printWarnings(d);
    this.out.line(`ok jiffies=${this.sim.jiffies}`);
  }

  private failatomic(fail: boolean): void {
    this.failAtomic = fail;
    if (this.dom && !this.dom.isDestroyed) this.dom.setFailAtomic(fail);
    this.out.line("ok");
  }

  private put(): void {
    const d = this.domain();
    d.fqTeardown(); // pending entries' destructors run before the domain goes
    this.printWarnings(d);
    this.dom = undefined;
    this.out.line(`ok kmalloc_live=${this.destroy(d)}`);
  }
}

function mag(tag: string, pfns: number[]): string {
  return pfns.length === 0 ? `${tag}(0)` : `${tag}(${pfns.length}){${pfns.map(hex).join(",")}}`;
}
