// The bug zoo: every entry of BUG_ZOO (whoever added it) runs here, its buggy form caught and
// its fixed form clean; the switch between the forms must select something different (a
// behaviour removed, another variant), so an entry whose switch did nothing fails; findBug by
// id and commit; the command line's exit codes and JSON; and the README's table is the zoo's.

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  BEHAVIOURS, BUG_ZOO, Simulator, UnknownBugError, findBug, runBug, type BugEntry, type BugRunResult,
} from "../dist/index.js";
import { cli } from "./helpers.js";

const README_PATH = join(import.meta.dirname, "..", "README.md");

/** Every Simulator an entry's form makes, with the behaviours it ends up running. */
async function machinesOf(entry: BugEntry, form: "buggy" | "fixed"): Promise<{ options: unknown; behaviours: readonly string[] }[]> {
  const made: { options: unknown; behaviours: readonly string[] }[] = [];
  const create = Simulator.create;
  Simulator.create = async (options) => {
    const sim = await create.call(Simulator, options);
    made.push({ options: options?.behaviours, behaviours: sim.behaviours });
    return sim;
  };
  try {
    await entry.run(form);
  } finally {
    Simulator.create = create;
  }
  return made;
}

const results = new Map<string, BugRunResult>();
afterAll(() => results.clear());

describe("every entry of the bug zoo", () => {
  it("has a distinct id, a corpus number, a fix (12 hex digits, or words for what no commit fixed), and says what the fix changed", () => {
    expect(BUG_ZOO.length).toBeGreaterThanOrEqual(3);
    expect(new Set(BUG_ZOO.map((e) => e.id)).size).toBe(BUG_ZOO.length);
    for (const e of BUG_ZOO) {
      expect(e.id, e.id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      // A commit is its first 12 hex digits (what `bugs run` takes); words say why there is none.
      expect(e.fix, e.id).toMatch(/^[0-9a-f]{12}$|^[a-z]+ /);
      if (e.introducedBy) expect(e.introducedBy, e.id).toMatch(/^[0-9a-f]{12}$/);
      expect(e.corpus, e.id).toBeGreaterThan(0);
      for (const k of ["title", "component", "effect", "kernels", "fixChanged", "trigger"] as const) expect(e[k].length, `${e.id}.${k}`).toBeGreaterThan(2);
      expect(e.switch.buggy, `${e.id}: the forms differ`).not.toBe(e.switch.fixed);
    }
  });

  it.each(BUG_ZOO.map((e) => [e.id, e] as const))("%s: the buggy form is caught, the fixed one clean", async (_, e) => {
    const r = await runBug(e);
    results.set(e.id, r);
    expect(r.id).toBe(e.id);
    expect(r.buggy.form).toBe("buggy");
    expect(r.fixed.form).toBe("fixed");
    expect(r.buggy.caught, `${e.id} buggy: ${r.buggy.verdict}`).toBe(true);
    expect(r.fixed.caught, `${e.id} fixed: ${r.fixed.verdict}`).toBe(false);
    expect(r.pass).toBe(true);
    expect(r.buggy.evidence.length).toBeGreaterThan(0);
    expect(r.fixed.evidence.length).toBeGreaterThan(0);
    // The forms show something different, not just a different verdict line.
    expect(r.buggy.evidence).not.toEqual(r.fixed.evidence);
    // Deterministic: the buggy form again gives the same result.
    expect(await e.run("buggy")).toEqual(r.buggy);
  }, 120_000);

  const byBehaviour = BUG_ZOO.filter((e) => e.switch.kind === "behaviour");
  it.each(byBehaviour.map((e) => [e.id, e] as const))("%s: the switch removes (or adds) its behaviour, and only in the buggy form", async (_, e) => {
    expect(BEHAVIOURS, `${e.id}: the switch names a behaviour`).toContain(e.switch.name);
    const buggy = await machinesOf(e, "buggy");
    const fixed = await machinesOf(e, "fixed");
    expect(buggy.length, `${e.id} makes a machine`).toBeGreaterThan(0);
    expect(buggy.length).toBe(fixed.length);
    buggy.forEach((m, i) => {
      const f = fixed[i]!;
      const only = (a: readonly string[], b: readonly string[]) => a.filter((x) => !b.includes(x));
      // Exactly the switch's behaviour tells the two machines apart.
      expect([...only(m.behaviours, f.behaviours), ...only(f.behaviours, m.behaviours)]).toEqual([e.switch.name]);
    });
  }, 120_000);
});

describe("runBug", () => {
  const fake = (buggyCaught: boolean, fixedCaught: boolean | "throws"): BugEntry => ({
    ...BUG_ZOO[0]!, id: "fake",
    run: async (form) => {
      if (form === "fixed" && fixedCaught === "throws") throw new Error("broken on purpose");
      return { form, caught: form === "buggy" ? buggyCaught : fixedCaught === true, verdict: "v", evidence: ["e"] };
    },
  });
  it("fails an entry whose buggy form is not caught, or whose fixed form is not clean or throws", async () => {
    expect((await runBug(fake(true, false))).pass).toBe(true);
    expect((await runBug(fake(false, false))).pass).toBe(false);
    expect((await runBug(fake(true, true))).pass).toBe(false);
    const thrown = await runBug(fake(true, "throws"));
    expect(thrown.pass).toBe(false);
    expect(thrown.fixed.verdict).toMatch(/error: broken on purpose/);
  });
});

describe("findBug", () => {
  it("takes an id, a fixing commit's first 12 hex digits (or more), an introducing commit", () => {
    for (const e of BUG_ZOO) {
      expect(findBug(e.id)).toBe(e);
      if (!/^[0-9a-f]{12}$/.test(e.fix)) continue;
      expect(findBug(e.fix)).toBe(e);
      expect(findBug(e.fix.toUpperCase())).toBe(e);
      expect(findBug(e.fix + "0123456789")).toBe(e);
    }
    // 6833b8f2e199 fixed one entry and introduced another: the fix wins.
    const ttl = BUG_ZOO.find((e) => e.fix === "6833b8f2e199");
    if (ttl) expect(findBug("6833b8f2e199")).toBe(ttl);
  });

  it("refuses anything else with the ids and a did-you-mean", () => {
    const id = BUG_ZOO[0]!.id;
    const typo = id.slice(0, -1);
    expect(() => findBug(typo)).toThrow(UnknownBugError);
    expect(() => findBug(typo)).toThrow(new RegExp(`did you mean '${id}'`));
    expect(() => findBug("nothing-like-it")).toThrow(new RegExp(BUG_ZOO.map((e) => e.id).join(", ")));
    expect(() => findBug("0123456789ab")).toThrow(/no bug zoo entry '0123456789ab'/);
    expect(() => findBug("")).toThrow(UnknownBugError);
  });
});

describe("iommu-sim bugs", () => {
  it("lists every entry (and as JSON)", async () => {
    const text = await cli("bugs");
    expect(text.code).toBe(0);
    for (const e of BUG_ZOO) expect(text.out).toContain(e.id);
    const json = await cli("bugs", "--json");
    expect(json.code).toBe(0);
    const list = JSON.parse(json.out) as { id: string; fix: string; switch: unknown }[];
    expect(list.map((e) => e.id)).toEqual(BUG_ZOO.map((e) => e.id));
    expect(list[0]).toHaveProperty("switch");
  });

  it("runs one by its fix's 12 hex digits: exit 0, a BugRunResult as JSON", async () => {
    const e = BUG_ZOO.find((x) => x.switch.kind === "behaviour")!;
    const r = await cli("bugs", "run", e.fix, "--json");
    expect(r.code, r.out).toBe(0);
    const got = JSON.parse(r.out) as BugRunResult;
    expect(got).toMatchObject({ id: e.id, pass: true, buggy: { form: "buggy", caught: true }, fixed: { form: "fixed", caught: false } });
    const text = await cli("bugs", "run", e.id);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^PASS: /m);
    expect(text.out).toContain(`buggy (${e.switch.buggy})`);
  }, 60_000);

  it("bad input is exit 2: an unknown id (with a did-you-mean), neither an id nor --all", async () => {
    const id = BUG_ZOO[0]!.id;
    const r = await cli("bugs", "run", id + "x");
    expect(r.code).toBe(2);
    expect(r.out).toContain(`did you mean '${id}'`);
    expect((await cli("bugs", "run")).code).toBe(2);
    expect((await cli("bugs", "run", id, "--all")).code).toBe(2);
  });

  it("--all runs every entry", async () => {
    const r = await cli("bugs", "run", "--all", "--json");
    expect(r.code, r.out.slice(-2000)).toBe(0);
    const all = JSON.parse(r.out) as BugRunResult[];
    expect(all.map((x) => x.id)).toEqual(BUG_ZOO.map((e) => e.id));
    expect(all.every((x) => x.pass)).toBe(true);
  }, 300_000);
});

describe("the README's bug zoo table", () => {
  it("is the zoo's, with how each buggy form is caught (UPDATE_README=1 rewrites it)", async () => {
    const begin = "<!-- bug-zoo-table -->\n";
    const end = "<!-- /bug-zoo-table -->";
    let readme = readFileSync(README_PATH, "utf8");
    const from = readme.indexOf(begin) + begin.length;
    const to = readme.indexOf(end);
    expect(from, "the README has the table's markers").toBeGreaterThan(begin.length);
    const cell = (t: string) => t.replace(/\|/g, "\\|");
    const rows: string[] = [];
    for (const e of BUG_ZOO) {
      // The verdicts the run above found (an entry run alone here, when filtered).
      const caught = (results.get(e.id) ?? await runBug(e)).buggy.verdict;
      rows.push(`| \`${e.id}\` | ${e.fix} | ${cell(e.title)} | ${cell(e.component)} | ${cell(e.effect)} | ${cell(caught)} | ` +
        `${e.switch.kind} \`${e.switch.name}\`: ${cell(e.switch.buggy)} → ${cell(e.switch.fixed)} |`);
    }
    const table = [
      "| id | fix | title | component | effect | caught by (buggy form) | switch (buggy → fixed) |",
      "|---|---|---|---|---|---|---|",
      ...rows,
    ].join("\n") + "\n";
    let shown = readme.slice(from, to);
    if (process.env.UPDATE_README && shown !== table) {
      readme = readme.slice(0, from) + table + readme.slice(to);
      writeFileSync(README_PATH, readme);
      shown = table;
    }
    expect(shown, "the README's bug zoo table (UPDATE_README=1 rewrites it)").toBe(table);
  }, 300_000);
});
