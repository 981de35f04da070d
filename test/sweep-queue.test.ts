// Sweeps through Redis (src/sweep/queue.ts, src/sweep/queue-worker.ts) as a user runs them:
// `iommu-sim sweep FILE --queue URL` and three `iommu-sim worker --queue URL` processes against
// a real redis-server this file starts on a loopback port, one worker killed (SIGKILL) while it
// holds a point — and the results file equal to the local run's, point by point: none lost,
// none twice. And the ways it must fail clearly: a bad URL, nothing listening, a wrong password,
// Redis going away mid-sweep; and a second submission (--resume) that adds no job twice.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Queue } from "bullmq";
import { cli } from "./helpers.js";
import { freePort, startRedis, withRedis, type RedisRig } from "./redis.js";
import { expandPoints, loadSweep, readResults, resultsDifference, parseRedisUrl, runSweepOnQueue, runQueueWorker } from "../dist/node.js";

const CLI = join(import.meta.dirname, "..", "dist", "cli.js");
const dir = mkdtempSync(join(tmpdir(), "iommu-sim-sweep-queue-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A sweep of 30 short runs: 3 IOTLB sizes × 2 policies × 5 repetitions of a small nic-tx. */
const SWEEP = {
  name: "queue-test", base: "nic-tx",
  axes: { "smmu.iotlb.entries": [64, 256, 4096], "smmu.iotlb.policy": ["rr", "lru"] },
  repeat: 5, set: { "workloads[0].ops": 400 },
};
const POINTS = 30;
const sweepFile = join(dir, "sweep.json");
writeFileSync(sweepFile, JSON.stringify(SWEEP));

/** A command line running in the background: what it printed so far, and waits on it. */
class Proc {
  out = "";
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  constructor(args: string[]) {
    this.child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    this.child.stdout!.on("data", (d: Buffer) => { this.out += d.toString(); });
    this.child.stderr!.on("data", (d: Buffer) => { this.out += d.toString(); });
    this.exited = new Promise((resolve) => this.child.once("exit", (code, signal) => resolve({ code, signal })));
  }
  /** Resolves with the match once the output matches `re`; fails (with the output) after `ms`. */
  async waitFor(re: RegExp, ms = 60_000): Promise<RegExpExecArray> {
    const until = Date.now() + ms;
    for (;;) {
      const m = re.exec(this.out);
      if (m) return m;
      if (Date.now() > until || this.child.exitCode !== null) throw new Error(`no ${re} in the output:\n${this.out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  /** Exit code, failing (with the output) if it does not exit within `ms`. */
  async exit(ms = 60_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`still running after ${ms} ms:\n${this.out}`)), ms); });
    try {
      return await Promise.race([this.exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }
  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}

const procs: Proc[] = [];
const run = (...args: string[]) => { const p = new Proc(args); procs.push(p); return p; };
afterAll(() => { for (const p of procs) p.kill(); });

describe("a sweep's Redis URL", () => {
  it("is refused unless it is redis:// or rediss://, saying what was expected", async () => {
    for (const bad of ["localhost:6379", "http://127.0.0.1:6379", "redis://", "redis://h:1/x", "redis://h:1/?a=1"]) {
      expect(() => parseRedisUrl(bad)).toThrow(/expected redis:\/\/HOST:PORT/);
    }
    expect(parseRedisUrl("redis://:s3cret@10.1.2.3:7000/2")).toMatchObject({ host: "10.1.2.3", port: 7000, db: 2, password: "s3cret", tls: false, shown: "redis://:***@10.1.2.3:7000/2" });
    expect(parseRedisUrl("rediss://q.lab")).toMatchObject({ host: "q.lab", port: 6379, tls: true });
    const r = await cli("worker", "--queue", "http://127.0.0.1:6379");
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/--queue "http:\/\/127\.0\.0\.1:6379": the scheme is "http", not redis or rediss; expected redis:\/\/HOST:PORT/);
    const s = await cli("sweep", sweepFile, "--queue", "127.0.0.1:6379", "--out", join(dir, "never"));
    expect(s.code).toBe(2);
    expect(s.out).toMatch(/--queue "127\.0\.0\.1:6379": .*expected redis:\/\/HOST:PORT/);
    const sharded = await cli("sweep", sweepFile, "--queue", "redis://127.0.0.1:1", "--shard", "0/2", "--out", join(dir, "never"));
    expect(sharded.code).toBe(2);
    expect(sharded.out).toMatch(/--shard cannot be combined with --queue: the workers take the points as they can/);
  });

  it("with nothing listening there is a clear error at once, from the submitter and from a worker", async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    for (const args of [["sweep", sweepFile, "--queue", url, "--out", join(dir, "nothing")], ["worker", "--queue", url]]) {
      const p = run(...args);
      // Bounded: an ioredis client left to its defaults would retry here forever.
      expect((await p.exit(15_000)).code).toBe(2);
      expect(p.out).toContain(`iommu-sim: cannot reach Redis at ${url}: connection refused (expected a Redis server listening at 127.0.0.1:${port}; is redis-server running there?)`);
    }
  });

  it("checks the library's options like the rest of the API", async () => {
    const spec = loadSweep(sweepFile);
    await expect(runSweepOnQueue(spec, { queue: "redis://127.0.0.1:1", out: join(dir, "x.jsonl"), resum: true } as never))
      .rejects.toThrow(/resum is not a known option \(did you mean 'resume'\?\)/);
    await expect(runQueueWorker({ queue: "redis://127.0.0.1:1", concurrency: 0 })).rejects.toThrow(/concurrency must be an integer in \[1, 256\], got 0/);
  });
});

describe("sweeps through a real Redis", () => {
  if (!withRedis(it, it.skip)) return;
  let redis: RedisRig;
  beforeAll(async () => { redis = await startRedis(); });
  afterAll(async () => { await redis?.stop(); });

  it("a wrong password is refused by name", async () => {
    const locked = await startRedis(["--requirepass", "right"]);
    try {
      const url = `redis://:wrong@127.0.0.1:${locked.port}`;
      const p = run("worker", "--queue", url);
      expect((await p.exit(15_000)).code).toBe(2);
      expect(p.out).toContain(`Redis at redis://:***@127.0.0.1:${locked.port} refused the credentials: WRONGPASS`);
      expect(p.out).not.toContain("wrong@");
    } finally {
      await locked.stop();
    }
  });

  it("three workers, one killed holding a point, write what the local run writes: none lost, none twice", async () => {
    const local = await cli("sweep", sweepFile, "--out", join(dir, "local"), "--jobs", "2");
    expect(local.code, local.out).toBe(0);
    const localLines = readResults(join(dir, "local.jsonl"));
    expect(localLines).toHaveLength(POINTS);

    // Submitted with no worker yet, stopped (Ctrl-C), submitted again: still one job per point.
    const out = join(dir, "queued");
    const first = run("sweep", sweepFile, "--queue", redis.url, "--out", out);
    await first.waitFor(new RegExp(`${POINTS} points, 0 already done, ${POINTS} queued`));
    first.kill("SIGINT");
    expect((await first.exit()).code).toBe(130);
    expect(first.out).toContain(`stopped following: ${POINTS} points left in Redis`);
    const spec = loadSweep(sweepFile);
    const queue = new Queue(`sweep-${spec.id}`, { connection: { host: "127.0.0.1", port: redis.port }, prefix: "iommu-sim" });
    // Every job the sweep has in Redis, whatever its state.
    const jobs = async () => queue.getJobCountByTypes("waiting", "paused", "active", "delayed", "prioritized", "completed", "failed");
    try {
      expect(await jobs()).toBe(POINTS);
      const again = run("sweep", sweepFile, "--queue", redis.url, "--out", out, "--resume");
      await again.waitFor(new RegExp(`${POINTS} points, 0 already done, 0 queued`));
      expect(await jobs()).toBe(POINTS);

      const workers = [0, 1, 2].map(() => run("worker", "--queue", redis.url, "--concurrency", "1"));
      const taken = await workers[0]!.waitFor(/taking point #(\d+)/);
      workers[0]!.kill("SIGKILL");
      const doomedId = /worker (\S+): serving/.exec(workers[0]!.out)![1]!;

      expect((await again.exit(90_000)).code, again.out).toBe(0);
      const lines = readResults(`${out}.jsonl`);
      expect(lines).toHaveLength(POINTS);
      expect(new Set(lines.map((l) => l.key)).size).toBe(POINTS);
      expect(resultsDifference(localLines, lines)).toBeUndefined();
      // The point the killed worker held was run again by another; nothing carries its name.
      const held = lines.find((l) => l.index === Number(taken[1]))!;
      expect(held.ranOn).not.toBe(doomedId);
      expect(lines.every((l) => l.ranOn !== doomedId && /:\d+$/.test(l.ranOn))).toBe(true);
      // Done: the sweep's jobs are gone from Redis; the workers stop cleanly on SIGTERM.
      expect(await jobs()).toBe(0);
      for (const w of workers.slice(1)) w.kill("SIGTERM");
      for (const w of workers.slice(1)) {
        expect((await w.exit(15_000)).code, w.out).toBe(0);
        expect(w.out).toMatch(/stopped: \d+ point\(s\) run and stored/);
      }
    } finally {
      await queue.close();
    }
  });

  it("a point whose job fails on the workers is an error naming it; the other points are written", async () => {
    const file = join(dir, "two.json");
    writeFileSync(file, JSON.stringify({ name: "two", base: "nic-tx", axes: { "smmu.iotlb.policy": ["rr", "lru"] }, set: { "workloads[0].ops": 200 } }));
    const spec = loadSweep(file);
    const [bad, good] = expandPoints(spec);
    // A job already there under the point's id (so the submitter adds none) that says it is another sweep's.
    const queue = new Queue(`sweep-${spec.id}`, { connection: { host: "127.0.0.1", port: redis.port }, prefix: "iommu-sim" });
    try {
      await queue.add("point", { sweep: "another", point: bad }, { jobId: bad!.key });
    } finally {
      await queue.close();
    }
    const out = join(dir, "two");
    const submit = run("sweep", file, "--queue", redis.url, "--out", out);
    const worker = run("worker", "--queue", redis.url, "--concurrency", "1");
    expect((await submit.exit(60_000)).code, submit.out).toBe(2);
    expect(submit.out).toContain(`iommu-sim: 1 point(s) failed on the workers (not a run's failure, which would be a result): ` +
      `point #0 (job ${bad!.key}), after 1 attempt(s): job ${bad!.key} does not belong to sweep ${spec.id}`);
    expect(readResults(`${out}.jsonl`).map((l) => l.key)).toEqual([good!.key]);
    worker.kill("SIGTERM");
    expect((await worker.exit(15_000)).code).toBe(0);
  });

  it("Redis going away mid-sweep is an error that says so; what was written stays", async () => {
    const doomed = await startRedis();
    const out = join(dir, "gone");
    const p = run("sweep", sweepFile, "--queue", doomed.url, "--out", out);
    await p.waitFor(/queued/);
    await doomed.stop();
    expect((await p.exit(30_000)).code).toBe(2);
    expect(p.out).toContain(`lost the connection to Redis at ${doomed.url}`);
    expect(readFileSync(`${out}.jsonl`, "utf8")).toBe("");
  });
});

describe("the package's entries", () => {
  it("load BullMQ only for the queue: no static import of it, none at all in the browser build", () => {
    const dist = join(import.meta.dirname, "..", "dist");
    const files = readdirSync(dist).filter((f) => f.endsWith(".js"));
    expect(files).toContain("cli.js");
    for (const f of files) expect(readFileSync(join(dist, f), "utf8"), f).not.toMatch(/^import[^;(]*["'](bullmq|ioredis)["']/m);
    // …and the queue's code does load it, when asked (else the check above would pass for nothing).
    expect(files.some((f) => /await import\(["']bullmq["']\)/.test(readFileSync(join(dist, f), "utf8")))).toBe(true);
    for (const f of ["index.js", "worker.js"]) {
      expect(readFileSync(join(import.meta.dirname, "..", "dist", "browser", f), "utf8")).not.toMatch(/bullmq|ioredis/);
    }
  });
});
