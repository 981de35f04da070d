// The package from the side of someone who types `npm install iommu-sim`: the packed
// tarball (test/pack.ts) installed into an empty project. Its manifest and files; a strict
// TypeScript consumer (skipLibCheck off, NodeNext) that compiles, and mistakes that must
// not; both entries sharing one declaration of each type, under each module resolution;
// the package run from plain Node ESM and from CommonJS; results that JSON.stringify
// can write; a script that forgets `sim.close()` still exiting; and the queue's dependencies found.

import { readFile, readdir, writeFile, copyFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO, packAndInstall, sh, type Installed } from "./pack.js";
import { freePort } from "./redis.js";

const TSC = join(REPO, "node_modules", "typescript", "bin", "tsc");
const CONSUMER = join(REPO, "test", "fixtures", "consumer");

let inst: Installed;
beforeAll(async () => {
  inst = await packAndInstall(["@types/node"]);
}, 120_000);
afterAll(async () => { await inst?.cleanup(); });

/** Every file under `dir`, relative to it. */
async function files(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name).slice(dir.length + 1)).sort();
}

describe("the packed package", () => {
  it("has a manifest without install-time scripts, and says where it comes from", async () => {
    const m = JSON.parse(await readFile(join(inst.pkg, "package.json"), "utf8"));
    // No scripts at all: none would work without the sources, and a build at install is npm's warning.
    expect(m.scripts).toBeUndefined();
    expect(m.license).toBe("MIT");
    expect(m.repository.url).toMatch(/github\.com\/iommu-sim\/iommu-sim/);
    expect(m.bugs.url).toMatch(/\/issues$/);
    expect(m.homepage).toMatch(/^https:\/\//);
    expect(m.exports["."]).toMatchObject({ browser: "./dist/browser/index.js", node: "./dist/index.js" });
    // The repository's own manifest keeps the build that `npm ci` runs in a clone.
    const repo = JSON.parse(await readFile(join(REPO, "package.json"), "utf8"));
    expect(repo.scripts.prepare).toBe("npm run build");
  });

  it("ships LICENSE, no source maps, and chunks named for what they hold", async () => {
    const list = await files(inst.pkg);
    expect(list).toContain("LICENSE");
    expect(await readFile(join(inst.pkg, "LICENSE"), "utf8")).toMatch(/MIT License[\s\S]*iommu-sim contributors/);
    expect(list.filter((f) => f.endsWith(".map"))).toEqual([]);
    const js = list.filter((f) => f.endsWith(".js"));
    for (const f of js) expect(await readFile(join(inst.pkg, f), "utf8")).not.toMatch(/sourceMappingURL/);
    // Named by rollup.config.mjs's CHUNK_NAMES: no "map-benchmark2.js" holding the Simulator.
    expect(js.filter((f) => /\d\.js$/.test(f))).toEqual([]);
    expect(list).toContain("dist/simulator.js");
    expect(await readFile(join(inst.pkg, "dist", "simulator.js"), "utf8")).toMatch(/^class Simulator \{/m);
    // Only what the package needs at run time.
    expect(list.filter((f) => !f.startsWith("dist/") && !["LICENSE", "README.md", "package.json"].includes(f))).toEqual([]);
  });

  it("type-checks in a strict consumer (skipLibCheck off), and refuses a wrong profile, granule, built-in, event time or @internal member", async () => {
    for (const f of await readdir(CONSUMER)) await copyFile(join(CONSUMER, f), join(inst.app, f));
    await writeFile(join(inst.app, "tsconfig.json"), JSON.stringify({
      compilerOptions: {
        strict: true, skipLibCheck: false, module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022",
        lib: ["ES2022"], types: ["node"], noEmit: true,
      },
      include: ["*.ts"],
    }));
    const out = await sh("node", [TSC, "-p", "tsconfig.json"], inst.app).then(() => "", (e: Error) => e.message);
    const errors = out.split("\n").filter((l) => /error TS\d+/.test(l));
    const inFile = (f: string) => errors.filter((l) => l.startsWith(f));
    // Nothing in the package's own declarations, nothing in the consumer that uses it right.
    expect(errors.filter((l) => !l.startsWith("bad-"))).toEqual([]);
    expect(inFile("bad-profile.ts").join("\n")).toMatch(/TS\d+: Type '"6\.1"' is not assignable/);
    expect(inFile("bad-granule.ts").join("\n")).toMatch(/TS\d+: Type '8192' is not assignable/);
    expect(inFile("bad-builtin.ts").join("\n")).toMatch(/TS\d+: Property 'nicc' does not exist/);
    expect(inFile("bad-internal.ts").join("\n")).toMatch(/TS\d+: Property 'core' does not exist/);
    expect(inFile("bad-event-time.ts").join("\n")).toMatch(/TS\d+: Type '{ fraction: number; ops: number; }' is not assignable to type 'EventTime'/);
    // The bundler's renamings (RunOptions$1) never reach a user's error message.
    expect(out).not.toMatch(/\w\$\d/);
  }, 120_000);

  // One declaration of each type for both entries (rollup.config.mjs builds them together),
  // under each resolution a user may pick: a Simulator from iommu-sim/node is iommu-sim's.
  // (NodeNext: the strict consumer above compiles node-shares-types.ts too.)
  it("shares one declaration of each type between iommu-sim and iommu-sim/node, under Node16 and Bundler too", async () => {
    await copyFile(join(CONSUMER, "node-shares-types.ts"), join(inst.app, "node-shares-types.ts"));
    const modes = [["Node16", "Node16"], ["ESNext", "Bundler"]] as const;
    for (const [module, moduleResolution] of modes) {
      const config = `tsconfig.${moduleResolution.toLowerCase()}.json`;
      await writeFile(join(inst.app, config), JSON.stringify({
        compilerOptions: { strict: true, skipLibCheck: false, module, moduleResolution, target: "ES2022", lib: ["ES2022"], types: ["node"], noEmit: true },
        files: ["node-shares-types.ts"],
      }));
      const out = await sh("node", [TSC, "-p", config], inst.app).then(() => "", (e: Error) => e.message);
      expect({ moduleResolution, errors: out.split("\n").filter((l) => /error TS\d+/.test(l)) }).toEqual({ moduleResolution, errors: [] });
    }
  }, 120_000);

  it("compiles for a consumer with neither the DOM library nor @types/node (the main entry)", async () => {
    await copyFile(join(CONSUMER, "no-host-types.ts"), join(inst.app, "no-host-types.ts"));
    await writeFile(join(inst.app, "tsconfig.bare.json"), JSON.stringify({
      compilerOptions: { strict: true, skipLibCheck: false, module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", lib: ["ES2022"], types: [], noEmit: true },
      files: ["no-host-types.ts"],
    }));
    const out = await sh("node", [TSC, "-p", "tsconfig.bare.json"], inst.app).then(() => "", (e: Error) => e.message);
    expect(out.split("\n").filter((l) => /error TS\d+/.test(l))).toEqual([]);
  }, 120_000);

  it("runs from plain Node ESM, and its results (64-bit fields too) go through JSON.stringify", async () => {
    await writeFile(join(inst.app, "run.mjs"), `
      import { Prot, Simulator } from "iommu-sim";
      const sim = await Simulator.create({ ramMiB: 16 });
      const pt = sim.createPageTable({ format: "arm-lpae-s1", pgsizeBitmap: 0x40201000, ias: 48, oas: 48 });
      const map = pt.mapPages(0x1000, 0xabc000, 0x1000, 1, Prot.READ);
      const smmu = sim.createSmmu({ microTlb: 0 });
      const dev = smmu.attachDevice(1, sim.createSmmuDomain(pt, { id: 5 }));
      const access = dev.access(0x2000, 4, "read");
      console.log(JSON.stringify({ map, phys: pt.iovaToPhys(0x1000), dump: pt.dump(), geometry: pt.geometry,
                                   access, faults: smmu.takeFaults(), ok: dev.access(0x1000, 4, "read").ok }));
      await sim.close();
    `);
    const r = JSON.parse((await sh("node", ["run.mjs"], inst.app)).stdout);
    expect(r.phys).toBe(0xabc000);
    expect(r.ok).toBe(true);
    expect(r.map).toEqual({ ret: 0, mapped: 4096, mapped64: "4096" });
    expect(r.access.fault).toMatchObject({ type: "translation", iova: 0x2000, info: expect.stringMatching(/^\d+$/) });
    expect(r.faults[0]).toMatchObject({ type: "translation", info: expect.stringMatching(/^\d+$/) });
    const leaf = r.dump.find((e: { kind: string }) => e.kind === "page");
    expect(BigInt(leaf.pte) & ~0xfffn & ((1n << 48n) - 1n)).toBe(0xabc000n); // the PTE's output address
    expect(r.geometry.mair).toMatch(/^\d+$/);
  });

  it("finds its queue's dependencies (BullMQ, ioredis) where npm installed them", async () => {
    // A worker pointed at a port nothing listens on: reaching the connection error means both loaded.
    const port = await freePort();
    const cliPath = join(inst.pkg, "dist", "cli.js");
    const out = await sh("node", [cliPath, "worker", "--queue", `redis://127.0.0.1:${port}`], inst.app).then(
      () => "exited 0", (e: Error) => e.message);
    expect(out).toContain(`cannot reach Redis at redis://127.0.0.1:${port}: connection refused`);
  });

  it("loads from CommonJS: by import(), and by require() where Node has require(esm)", async () => {
    await writeFile(join(inst.app, "run.cjs"), `
      (async () => {
        const esm = await import("iommu-sim");
        const out = { importType: typeof esm.Simulator.create, requireModule: !!process.features.require_module };
        if (out.requireModule) out.requireType = typeof require("iommu-sim").Simulator.create;
        const sim = await esm.Simulator.create({ ramMiB: 16 });
        out.profile = sim.profile;
        await sim.close();
        console.log(JSON.stringify(out));
      })().catch((e) => { console.error(e); process.exit(1); });
    `);
    const r = JSON.parse((await sh("node", ["run.cjs"], inst.app)).stdout);
    expect(r).toMatchObject({ importType: "function", profile: "7.1" });
    if (r.requireModule) expect(r.requireType).toBe("function");
  });

  it("a script that starts a pool and forgets sim.close() still exits", async () => {
    await writeFile(join(inst.app, "task.mjs"), "export const whoami = (ctx) => ctx.worker;\n");
    await writeFile(join(inst.app, "forget.mjs"), `
      import { Simulator } from "iommu-sim";
      const sim = await Simulator.create({ ramMiB: 16 });
      const pool = await sim.pool({ workers: 2 });
      console.log(JSON.stringify(await pool.run(new URL("./task.mjs", import.meta.url).href + "#whoami")));
      // no sim.close(): the idle workers must not keep Node running
    `);
    const t0 = Date.now();
    const r = await sh("node", ["forget.mjs"], inst.app, 30_000);
    expect(JSON.parse(r.stdout)).toEqual([0, 1]);
    expect(Date.now() - t0).toBeLessThan(30_000);
  }, 60_000);
});

