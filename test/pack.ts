// The package as a user gets it: `npm pack` of the repository's publishable files (in a
// staging copy, so that the prepack/postpack manifest rewrite never touches the working
// tree while other tests read it), then installed offline into an empty project — the
// runtime dependencies come from the npm cache that `npm ci` filled. That cache holds the
// tarballs but not the registry's metadata, which a plain `npm install --offline x.tgz`
// asks for to resolve "^3.12.0": so the project gets a lockfile naming the tarball and, for
// every dependency, the exact version and integrity the repository's own lockfile has.

import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
export const REPO = resolve(import.meta.dirname, "..");

export interface Installed {
  /** The tarball. */
  tarball: string;
  /** The consumer project, with node_modules/iommu-sim installed from the tarball. */
  app: string;
  /** The installed package's directory. */
  pkg: string;
  cleanup(): Promise<void>;
}

/** Run a command; its output comes with the error when it fails. */
export async function sh(cmd: string, args: string[], cwd: string, timeout = 120_000): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(cmd, args, { cwd, timeout, maxBuffer: 64 << 20, env: { ...process.env, npm_config_update_notifier: "false" } });
  } catch (e) {
    const x = e as { message: string; stdout?: string; stderr?: string };
    throw new Error(`${cmd} ${args.join(" ")} failed: ${x.message}\n${x.stdout ?? ""}\n${x.stderr ?? ""}`);
  }
}

interface LockEntry {
  version: string; integrity?: string; resolved?: string; optional?: boolean;
  dependencies?: Record<string, string>; optionalDependencies?: Record<string, string>; [k: string]: unknown;
}

/**
 * Lockfile entries for `names` and everything they depend on, as the repository's lockfile
 * has them, each with the registry URL npm ci fetched it from (the cache's key). Optional
 * dependencies (BullMQ's msgpackr has a native accelerator, one package per platform) are
 * listed as optional: npm installs the one for this platform, which `npm ci` cached, and
 * skips the others.
 */
async function lockEntries(names: string[]): Promise<Record<string, LockEntry>> {
  const repo = JSON.parse(await readFile(join(REPO, "package-lock.json"), "utf8")).packages as Record<string, LockEntry>;
  const out: Record<string, LockEntry> = {};
  const add = (name: string, parent: string, optional: boolean): void => {
    const path = [`${parent}/node_modules/${name}`, `node_modules/${name}`].find((p) => p in repo);
    if (!path) {
      if (optional) return; // an optional package the repository's install left out
      throw new Error(`test/pack.ts: ${name} is not in package-lock.json (run npm ci)`);
    }
    if (path in out) {
      if (!optional && out[path]!.optional) delete out[path]!.optional; // also needed for sure: then not optional
      return;
    }
    const { dev: _d, optional: _o, peer: _p, ...entry } = repo[path]!;
    out[path] = {
      ...entry, ...(optional ? { optional: true } : {}),
      resolved: entry.resolved ?? `https://registry.npmjs.org/${name}/-/${name.split("/").pop()}-${entry.version}.tgz`,
    };
    for (const dep of Object.keys(entry.dependencies ?? {})) add(dep, path, optional);
    for (const dep of Object.keys(entry.optionalDependencies ?? {})) add(dep, path, true);
  };
  for (const n of names) add(n, "", false);
  return out;
}

/**
 * Pack the built package (dist/ must be current: npm test builds first) and install it,
 * with `extra` packages of the repository's lockfile (e.g. "@types/node") beside it.
 */
export async function packAndInstall(extra: string[] = []): Promise<Installed> {
  const dir = await mkdtemp(join(tmpdir(), "iommu-sim-pack-"));
  const stage = join(dir, "stage");
  await mkdir(join(stage, "scripts"), { recursive: true });
  for (const f of ["package.json", "README.md", "LICENSE", "dist", "scripts/pack-manifest.mjs"]) {
    await cp(join(REPO, f), join(stage, f), { recursive: true });
  }
  await sh("npm", ["pack", "--silent", "--pack-destination", dir], stage);
  const tgz = (await readdir(dir)).find((f) => f.endsWith(".tgz"))!;
  const manifest = JSON.parse(await readFile(join(stage, "package.json"), "utf8")) as { version: string; dependencies: Record<string, string> };
  const app = join(dir, "app");
  await mkdir(app);
  const deps = await lockEntries([...Object.keys(manifest.dependencies), ...extra]);
  const dependencies: Record<string, string> = { "iommu-sim": `file:../${tgz}` };
  for (const n of extra) dependencies[n] = deps[`node_modules/${n}`]!.version;
  const root = { name: "consumer", version: "1.0.0", private: true, type: "module", dependencies };
  await writeFile(join(app, "package.json"), JSON.stringify(root, null, 2));
  await writeFile(join(app, "package-lock.json"), JSON.stringify({
    name: root.name, version: root.version, lockfileVersion: 3, requires: true,
    packages: {
      "": { name: root.name, version: root.version, dependencies },
      "node_modules/iommu-sim": { version: manifest.version, resolved: `file:../${tgz}`, dependencies: manifest.dependencies },
      ...deps,
    },
  }, null, 2));
  await sh("npm", ["ci", "--offline", "--no-audit", "--no-fund"], app);
  return { tarball: join(dir, tgz), app, pkg: join(app, "node_modules", "iommu-sim"), cleanup: () => rm(dir, { recursive: true, force: true }) };
}
