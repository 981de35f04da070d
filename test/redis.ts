// Shared by the queue tests: Debian's redis-server, started by the test itself on a free
// loopback port (no persistence) and stopped after. In CI (.ci/run installs redis-server and
// sets CI) a missing server binary is a failure; elsewhere the queue tests are skipped and say why.

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";

function findRedisServer(): string | undefined {
  const candidates = [process.env.REDIS_SERVER, "redis-server"].filter((c): c is string => !!c);
  for (const c of candidates) {
    try {
      execFileSync(c, ["--version"], { stdio: "ignore" });
      return c;
    } catch { /* not this one */ }
  }
  return undefined;
}

export const REDIS_SERVER = findRedisServer();

/** A loopback port nothing listens on (now). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RedisRig {
  url: string;
  port: number;
  proc: ChildProcess;
  /** Stop the server (SIGKILL: no persistence, nothing to flush). */
  stop(): Promise<void>;
}

/** Start redis-server on a free loopback port; resolves once it accepts connections. */
export async function startRedis(extraArgs: string[] = []): Promise<RedisRig> {
  if (!REDIS_SERVER) throw new Error("redis-server not found: apt-get install redis-server, or set REDIS_SERVER");
  const port = await freePort();
  const proc = spawn(REDIS_SERVER, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", ...extraArgs],
    { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  proc.stdout!.on("data", (d: Buffer) => { log += d.toString(); });
  proc.stderr!.on("data", (d: Buffer) => { log += d.toString(); });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start on port ${port}:\n${log}`)), 10_000);
    const check = () => {
      if (/Ready to accept connections/.test(log)) { clearTimeout(timer); resolve(); } else setTimeout(check, 20);
    };
    proc.once("exit", (code) => { clearTimeout(timer); reject(new Error(`redis-server exited (${code}):\n${log}`)); });
    check();
  });
  return {
    url: `redis://127.0.0.1:${port}`, port, proc,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const gone = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGKILL");
      await gone;
    },
  };
}

/** describe-level guard: run `body` with redis-server, or register why it cannot run. */
export function withRedis(it: (name: string, fn: () => void) => void, skip: (name: string, fn: () => void) => void): boolean {
  if (REDIS_SERVER) return true;
  if (process.env.CI) it("finds redis-server (CI is set)", () => { throw new Error("redis-server not found: apt-get install redis-server"); });
  else skip("skipped: redis-server not found (install redis-server or set REDIS_SERVER)", () => {});
  return false;
}
