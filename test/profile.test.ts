// Kernel versions as named behaviours: every behaviour is one documented bit of the core,
// profiles are sets of them (src/profile.ts, the one table), and nothing else in the code
// decides by version.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { BEHAVIOURS, BEHAVIOUR_COMMITS, PROFILES, Simulator, kernelProfile, profileHas } from "../dist/index.js";
import { coreOf } from "./helpers.js";

const ROOT = join(import.meta.dirname, "..");

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (/\.(ts|js|mjs)$/.test(f)) out.push(p);
  }
  return out;
}

describe("behaviours", async () => {
  const sim = await Simulator.create({ ramMiB: 1, kheapMiB: 1 });
  const L = coreOf(sim).layout as unknown as Record<string, number>;
  await sim.close();
  const names = Object.keys(L).filter((n) => n.startsWith("KB_"));

  it("each is its own bit, inside BEHAVIOUR_BITS", () => {
    expect(names.length).toBeGreaterThan(10);
    const seen = new Set<number>();
    for (const n of names) {
      const v = L[n]!;
      expect(v > 0 && (v & (v - 1)) === 0, `${n} is one bit`).toBe(true);
      expect((v & ~L.BEHAVIOUR_BITS!) >>> 0, `${n} inside BEHAVIOUR_BITS`).toBe(0);
      expect(seen.has(v), `${n} has a bit of its own`).toBe(false);
      seen.add(v);
    }
    // The mask is every bit and nothing else (bits may be allocated out of order).
    expect([...seen].reduce((a, b) => a | b, 0) >>> 0).toBe(L.BEHAVIOUR_BITS!);
  });

  it("each names the kernel commit that introduced or removed it", () => {
    const src = readFileSync(join(ROOT, "assembly", "behaviour.ts"), "utf8");
    for (const n of names) {
      const doc = new RegExp(`/\\*\\*((?:(?!\\*/)[\\s\\S])*)\\*/\\s*export const ${n}:`).exec(src);
      expect(doc, `${n} has a doc comment`).not.toBeNull();
      expect(doc![1]!.replace(/\s*\n\s*\*\s*/g, " "), `${n}'s comment names a commit (or says none was identified)`)
        .toMatch(/\b[0-9a-f]{12}\b|commit not identified/);
    }
  });

  it("BEHAVIOURS lists every one (from the module's exports), and each has its commit as its doc comment names it", () => {
    expect([...BEHAVIOURS].sort()).toEqual(names.map((n) => n.slice(3)).sort());
    const src = readFileSync(join(ROOT, "assembly", "behaviour.ts"), "utf8");
    for (const b of BEHAVIOURS) {
      const commit = BEHAVIOUR_COMMITS[b];
      expect(commit, `${b} has a commit in BEHAVIOUR_COMMITS`).toBeDefined();
      const doc = new RegExp(`/\\*\\*((?:(?!\\*/)[\\s\\S])*)\\*/\\s*export const KB_${b}:`).exec(src)![1]!;
      for (const hex of commit!.match(/\b[0-9a-f]{12}\b/g) ?? []) expect(doc, `${b}: ${hex} in its doc comment`).toContain(hex);
      if (!/[0-9a-f]{12}/.test(commit!)) expect(doc.replace(/\s*\n\s*\*\s*/g, " ")).toMatch(/commit not identified|not identified/);
    }
  });

  it("every profile is a set of known behaviours, and profileHas agrees with it", () => {
    for (const p of PROFILES) {
      const k = kernelProfile(p);
      expect(new Set(k.behaviours).size).toBe(k.behaviours.length);
      for (const b of k.behaviours) expect(names, `${p}: ${b}`).toContain(`KB_${b}`);
      for (const n of names) expect(profileHas(p, n.slice(3) as never)).toBe(k.behaviours.includes(n.slice(3) as never));
      expect(k.iovaMagazineSize).toBeGreaterThan(0);
    }
  });

  it("no two profiles are the same kernel", () => {
    const keys = PROFILES.map((p) => JSON.stringify([[...kernelProfile(p).behaviours].sort(), kernelProfile(p).iovaMagazineSize]));
    expect(new Set(keys).size).toBe(PROFILES.length);
  });
});

describe("the README's behaviour table", () => {
  it("lists every behaviour, and its marks are the profiles'", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const head = readme.split("\n").find((l) => l.startsWith("| behaviour | what it changes |"));
    expect(head, "the table's header").toBeDefined();
    const cols = head!.split("|").map((c) => c.trim()).slice(4, -1);
    expect(cols).toEqual([...PROFILES]);
    const rows = readme.split("\n").filter((l) => /^\| `[A-Z0-9_]+` \|/.test(l));
    const all = [...new Set(PROFILES.flatMap((p) => kernelProfile(p).behaviours))].sort();
    expect(rows.map((r) => /`([A-Z0-9_]+)`/.exec(r)![1]).sort()).toEqual(all);
    for (const r of rows) {
      const cells = r.split("|").map((c) => c.trim());
      const b = /`([A-Z0-9_]+)`/.exec(cells[1]!)![1]!;
      expect(cells[3], `${b}'s commit`).toBe(BEHAVIOUR_COMMITS[b as never]);
      cols.forEach((p, i) => expect(cells[4 + i] === "✓", `${b} in ${p}`).toBe(profileHas(p as never, b as never)));
    }
  });
});

describe("code asks for a behaviour, never for a version", () => {
  // A version compared, or a helper or constant named for one (is515, PROFILE_71, RULES_515).
  const DECISION = /(?:===?|!==?)\s*["']\d+\.\d+["']|["']\d+\.\d+["']\s*(?:===?|!==?)|\bis\d{2,3}\b|\b(?:PROFILE|RULES)_\d+\b|\bv\d{3}\b\s*[?&|)]/;
  const files = ["assembly", "src", "bindings", "web", "bench", "scripts"].flatMap((d) => sources(join(ROOT, d)))
    .filter((f) => !f.endsWith(join("src", "profile.ts")));

  it.each(files.map((f) => [relative(ROOT, f), f]))("%s", (_, f) => {
    const hits = readFileSync(f, "utf8").split("\n")
      .map((line, i) => ({ line: line.replace(/\/\/.*$/, ""), at: i + 1 }))
      .filter((l) => !/^\s*\*/.test(l.line) && DECISION.test(l.line));
    expect(hits.map((h) => `line ${h.at}: ${h.line.trim()}`)).toEqual([]);
  });
});

describe("a worker names the machine's kernel", () => {
  it.each(PROFILES)("%s", async (profile) => {
    const sim = await Simulator.create({ profile, ramMiB: 4 });
    try {
      const iova = sim.createIovaDomain({ granule: 4096, startPfn: 1 });
      // A second handle, as a worker makes from the domain's id, reads it from the shared memory.
      const { IovaDomain } = await import("../dist/index.js");
      expect(IovaDomain.attach(coreOf(sim), iova.id).profile).toBe(profile);
      iova.destroy();
    } finally {
      await sim.close();
    }
  });
});
