// The static server behind `iommu-sim web`: serves the built package's folder (dist/), so
// that the live page in dist/web/ (copied there at build time by scripts/web-dist.mjs) loads
// the library beside it (../index.js, its worker and core.wasm). Every answer carries the
// headers that make the page cross-origin isolated, which browsers require before they let
// a page create a SharedArrayBuffer — the simulator's memory:
//   Cross-Origin-Opener-Policy: same-origin
//   Cross-Origin-Embedder-Policy: require-corp
// (and Cross-Origin-Resource-Policy: same-origin on each file, which require-corp asks of
// what the page loads). Node-only: the CLI imports it, the library's entry does not.

import { createServer, type Server } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve, sep } from "node:path";
import { IommuSimError } from "../errors.js";

/** Content types of what dist/ holds; anything else goes as bytes. */
const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8", ".json": "application/json; charset=utf-8", ".wasm": "application/wasm",
  ".map": "application/json; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml", ".txt": "text/plain; charset=utf-8",
};

/** The isolation headers, on every answer (errors and redirects too: a page's every load must carry them). */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
});

/** The live page's path under the served folder. */
export const PAGE_PATH = "/web/";

export interface LiveServerOptions {
  /** The folder to serve: the package's dist/ (it must hold web/index.html). */
  root: string;
  /** 0..65535; 0: any free port. */
  port: number;
  /** The address to listen on (default 127.0.0.1: this machine only). */
  host?: string;
}

export interface LiveServer {
  /** The live page's URL (http://host:port/web/). */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The server could not start: the port is taken, the address is not this machine's, the page is missing. */
export class LiveServerError extends IommuSimError {
  override name = "LiveServerError";
}

/** Listen, and resolve once the page can be loaded; a LiveServerError saying why when it cannot. */
export async function startLiveServer(opts: LiveServerOptions): Promise<LiveServer> {
  const root = resolve(opts.root);
  const host = opts.host ?? "127.0.0.1";
  try {
    if (!(await stat(join(root, "web", "index.html"))).isFile()) throw new Error("not a file");
  } catch {
    throw new LiveServerError(`iommu-sim web: the live page is not in this build (${join(root, "web", "index.html")} is missing); ` +
      "in a clone, run `npm run build` first");
  }
  const server = createServer((req, res) => {
    answer(root, req.url ?? "/", req.method ?? "GET").then(({ status, headers, body }) => {
      res.writeHead(status, { ...ISOLATION_HEADERS, "Cache-Control": "no-store", ...headers });
      res.end(req.method === "HEAD" ? undefined : body);
    }, () => {
      res.writeHead(500, { ...ISOLATION_HEADERS, "Content-Type": "text/plain; charset=utf-8" });
      res.end("500: the server could not read the file\n");
    });
  });
  await listen(server, opts.port, host);
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : opts.port;
  // An IPv6 address goes in brackets in a URL.
  const shown = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}${PAGE_PATH}`,
    port,
    close: () => new Promise<void>((done) => {
      server.closeAllConnections();
      server.close(() => done());
    }),
  };
}

/** server.listen, with the errors a user can cause put in words that say what to do. */
function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((done, fail) => {
    server.once("error", (e: NodeJS.ErrnoException) => {
      const where = `port ${port} on ${host}`;
      if (e.code === "EADDRINUSE") {
        fail(new LiveServerError(`iommu-sim web: ${where} is already in use (another server is listening there); ` +
          "choose another with --port <n>, or --port 0 for any free port", { cause: e }));
      } else if (e.code === "EACCES") {
        fail(new LiveServerError(`iommu-sim web: not allowed to listen on ${where} (ports below 1024 need privileges); ` +
          "choose another with --port <n>, or --port 0 for any free port", { cause: e }));
      } else if (e.code === "EADDRNOTAVAIL" || e.code === "ENOTFOUND" || e.code === "EAI_AGAIN") {
        fail(new LiveServerError(`iommu-sim web: --host ${host} is not an address of this machine (${e.code}); ` +
          "expected e.g. 127.0.0.1, ::1 or 0.0.0.0", { cause: e }));
      } else fail(new LiveServerError(`iommu-sim web: cannot listen on ${where}: ${e.message}`, { cause: e }));
    });
    server.listen(port, host, () => done());
  });
}

interface Answer { status: number; headers: Record<string, string>; body: Buffer | string }

const text = (status: number, body: string): Answer => ({ status, headers: { "Content-Type": "text/plain; charset=utf-8" }, body });

/** What a request gets: a file of the root, the page for "/", or why not. */
async function answer(root: string, url: string, method: string): Promise<Answer> {
  if (method !== "GET" && method !== "HEAD") return { ...text(405, "405: only GET and HEAD\n"), headers: { Allow: "GET, HEAD" } };
  let path: string;
  try {
    path = decodeURIComponent(new URL(url, "http://x").pathname);
  } catch {
    return text(400, "400: a malformed path\n");
  }
  // The folder's root has nothing to show: send the browser to the page.
  if (path === "/" || path === "/web") return { status: 302, headers: { Location: PAGE_PATH }, body: "" };
  let file = normalize(join(root, path));
  if (file !== root && !file.startsWith(root + sep)) return text(403, "403: outside the served folder\n");
  try {
    if ((await stat(file)).isDirectory()) file = join(file, "index.html");
    const body = await readFile(file);
    return { status: 200, headers: { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream" }, body };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") return text(404, `404: ${path}\n`);
    throw e;
  }
}
