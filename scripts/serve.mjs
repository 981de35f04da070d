#!/usr/bin/env node
// A static file server for the browser side of iommu-sim: the live page (web/), the built
// package (dist/) and the browser tests' fixtures, from the repository root. It sends the
// two headers that make a page cross-origin isolated — which SharedArrayBuffer, and so the
// simulator's shared memory, requires in browsers:
//   Cross-Origin-Opener-Policy: same-origin
//   Cross-Origin-Embedder-Policy: require-corp
// `--no-isolation` leaves them out (to see the library's error for a page without them).
// Usage: node scripts/serve.mjs [--port N] [--no-isolation]   (port 0: any free port)
// Also importable: startServer({ root, port, isolation }) → { url, close() }.

import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8", ".json": "application/json; charset=utf-8", ".wasm": "application/wasm",
  ".map": "application/json; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml", ".txt": "text/plain; charset=utf-8",
};

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));

/** Serve `root`; resolves with the server's base URL once it listens. */
export async function startServer({ root = ROOT, port = 0, isolation = true, host = "127.0.0.1" } = {}) {
  const server = createServer(async (req, res) => {
    const headers = isolation
      ? { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp",
          "Cross-Origin-Resource-Policy": "same-origin" }
      : {};
    try {
      const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
      let file = normalize(join(root, path));
      if (file !== root && !file.startsWith(root + sep)) throw Object.assign(new Error("outside the root"), { code: "EACCES" });
      if ((await stat(file)).isDirectory()) file = join(file, "index.html");
      const body = await readFile(file);
      res.writeHead(200, { ...headers, "Content-Type": TYPES[extname(file)] ?? "application/octet-stream", "Cache-Control": "no-store" });
      res.end(body);
    } catch (e) {
      const code = e?.code === "ENOENT" || e?.code === "ENOTDIR" ? 404 : e?.code === "EACCES" ? 403 : 500;
      res.writeHead(code, { ...headers, "Content-Type": "text/plain; charset=utf-8" });
      res.end(`${code}: ${req.url}\n`);
    }
  });
  await new Promise((ok, fail) => { server.once("error", fail); server.listen(port, host, ok); });
  const { port: bound } = server.address();
  return {
    url: `http://${host}:${bound}/`,
    close: () => new Promise((ok) => { server.closeAllConnections?.(); server.close(() => ok()); }),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const portAt = args.indexOf("--port");
  const port = portAt >= 0 ? Number(args[portAt + 1]) : 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`serve: --port must be an integer 0..65535, got ${args[portAt + 1]}`);
    process.exit(2);
  }
  const isolation = !args.includes("--no-isolation");
  const { url } = await startServer({ port, isolation });
  console.log(`serving ${ROOT} at ${url} (${isolation ? "cross-origin isolated" : "NOT isolated"}); the live page: ${url}web/`);
}
