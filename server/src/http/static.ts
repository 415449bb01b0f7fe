import { readFile } from "node:fs/promises";
import path from "node:path";
import type { TemplatedApp } from "uWebSockets.js";
import { Reply } from "./respond.ts";

/**
 * The browser client: files from its build folder, and the app shell (index.html) for any
 * other page path so client-side routes survive a reload. API paths are never answered here:
 * unknown ones fall through to the JSON 404.
 */

const API_PATHS = ["/api", "/ws", "/healthz", "/readyz", "/metrics", "/v1"];
/** SvelteKit puts content-hashed files here: their name changes whenever their content does. */
const IMMUTABLE_PREFIX = "/_app/immutable/";
const IMMUTABLE = "public, max-age=31536000, immutable";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".webmanifest": "application/manifest+json",
  ".woff2": "font/woff2",
  ".woff": "font/woff",
  ".wasm": "application/wasm",
};

export function isApiPath(url: string): boolean {
  return API_PATHS.some((p) => url === p || url.startsWith(`${p}/`));
}

export function contentTypeOf(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? "application/octet-stream";
}

/** The file a URL path names inside `root`, or null when it would leave it. */
export function fileFor(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes("\0")) return null;
  const file = path.join(root, path.posix.normalize(`/${decoded}`));
  return file === root || file.startsWith(root + path.sep) ? file : null;
}

async function readFileOrNull(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file);
  } catch {
    return null; // missing, a directory, or unreadable: all mean "not this file"
  }
}

async function serve(reply: Reply, root: string, urlPath: string): Promise<void> {
  const file = fileFor(root, urlPath);
  if (file === null) return reply.error("bad_request", "Invalid path.");
  const body = await readFileOrNull(file);
  if (body) {
    const cache = urlPath.startsWith(IMMUTABLE_PREFIX) ? IMMUTABLE : "no-cache";
    return reply.send(200, body, { "Content-Type": contentTypeOf(file), "Cache-Control": cache });
  }
  // A missing asset is a 404; anything that looks like a page is the app's to route.
  if (path.extname(urlPath) !== "") return reply.error("not_found", `No file ${urlPath.slice(0, 200)}.`);
  const shell = await readFileOrNull(path.join(root, "index.html"));
  if (!shell) return reply.error("not_found", "The browser client is not built: run `npm run build -w client` (`npm start` does it).");
  reply.send(200, shell, { "Content-Type": CONTENT_TYPES[".html"]!, "Cache-Control": "no-cache" });
}

/** Mount before the catch-all 404, which still answers unknown API paths. */
export function mountStatic(app: TemplatedApp, clientDir: string): void {
  const root = path.resolve(clientDir);
  app.get("/*", (res, req) => {
    const url = req.getUrl();
    if (isApiPath(url)) return void req.setYield(true);
    void serve(new Reply(res), root, url);
  });
}
