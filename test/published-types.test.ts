// The published declarations (dist/*.d.ts) stand alone for a user who installed the package:
// every module they import is Node's own, the package's own, or one of its dependencies —
// never a build-time tool (the schema library is bundled into the code, not the types).
// They carry names as the user sees them (no bundler renaming like `RunOptions$1`), no
// `@internal` members, a doc comment on every class and public method, and one declaration
// of each class for both entries. (That they compile in a strict consumer is test/package.test.ts's.)

import { readdirSync, readFileSync } from "node:fs";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const dist = new URL("../dist/", import.meta.url);
const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { dependencies?: Record<string, string> };
const deps = new Set(Object.keys(pkg.dependencies ?? {}));

/** The package a bare specifier names ("@scope/name/sub" → "@scope/name", "uplot/dist" → "uplot"). */
const packageOf = (spec: string) => spec.split("/").slice(0, spec.startsWith("@") ? 2 : 1).join("/");

describe("published types", () => {
  const files = readdirSync(dist).filter((f) => f.endsWith(".d.ts"));

  it("there are declarations to check", () => {
    expect(files).toContain("index.d.ts");
  });

  // Both entries' declarations are built together: a class declared in two files (node.d.ts
  // once had its own copy of each) makes iommu-sim/node's Simulator not iommu-sim's.
  it("declare each class once, for both entries", () => {
    const where = new Map<string, string[]>();
    for (const file of files) {
      for (const m of readFileSync(new URL(file, dist), "utf8").matchAll(/^(?:export )?declare (?:abstract )?class (\w+)/gm)) {
        where.set(m[1]!, [...(where.get(m[1]!) ?? []), file]);
      }
    }
    expect(where.get("Simulator")).toHaveLength(1);
    expect([...where].filter(([, inFiles]) => inFiles.length > 1)).toEqual([]);
  });

  it.each(files)("%s imports only Node, the package itself and its dependencies", (file) => {
    const text = readFileSync(new URL(file, dist), "utf8");
    const specs = [...text.matchAll(/\bfrom\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2]!);
    const foreign = specs.filter((s) => !s.startsWith(".") && !s.startsWith("node:") && !deps.has(packageOf(s)));
    expect(foreign).toEqual([]);
  });

  // A browser user, or a Node user without @types/node, compiles against these too: Node's
  // global namespace would be "Cannot find namespace 'NodeJS'" for them.
  it.each(files)("%s needs no @types/node (no NodeJS namespace)", (file) => {
    const text = readFileSync(new URL(file, dist), "utf8");
    expect(text.match(/^.*\bNodeJS\.\w+.*$/gm) ?? []).toEqual([]);
  });

  it.each(files)("%s has no bundler-renamed names and no @internal members", (file) => {
    const text = readFileSync(new URL(file, dist), "utf8");
    expect(text.match(/\b\w+\$\d+\b/g) ?? []).toEqual([]);
    expect(text).not.toMatch(/@internal/);
  });

  it.each(files)("%s documents every function, class and public method", (file) => {
    const sf = ts.createSourceFile(file, readFileSync(new URL(file, dist), "utf8"), ts.ScriptTarget.Latest, true);
    const documented = (n: ts.Node) => ts.getJSDocCommentsAndTags(n).length > 0;
    const missing: string[] = [];
    for (const st of sf.statements) {
      if (ts.isFunctionDeclaration(st) && st.name && !documented(st)) missing.push(`function ${st.name.text}`);
      if (!ts.isClassDeclaration(st) || !st.name) continue;
      if (!documented(st)) missing.push(`class ${st.name.text}`);
      for (const m of st.members) {
        if (ts.getCombinedModifierFlags(m) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue;
        if (!(ts.isMethodDeclaration(m) || ts.isGetAccessor(m) || ts.isSetAccessor(m))) continue;
        if (!documented(m)) missing.push(`${st.name.text}.${m.name.getText(sf)}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

