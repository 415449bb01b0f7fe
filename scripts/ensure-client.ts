// Builds the browser client when client/build is missing or older than anything it is built
// from (client sources, config, the shared protocol). `npm start` and the tests run it first.
// Usage: npx tsx scripts/ensure-client.ts [--force]
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BUILT = path.join(ROOT, "client/build/index.html");
const SOURCES = ["client/src", "client/static", "client/svelte.config.js", "client/vite.config.ts", "client/package.json", "shared/src"];

function newestMtime(p: string): number {
  const stat = statSync(p, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(p).map((name) => newestMtime(path.join(p, name))));
}

export function clientIsStale(): boolean {
  if (!existsSync(BUILT)) return true;
  const built = statSync(BUILT).mtimeMs;
  return SOURCES.some((s) => newestMtime(path.join(ROOT, s)) > built);
}

/** Builds when needed; throws if the build fails. */
export function ensureClient(force = false): void {
  if (!force && !clientIsStale()) return;
  console.error("Building the browser client (client/build)…");
  const run = spawnSync("npm", ["run", "build", "-w", "client"], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
  if (run.status !== 0) throw new Error(`client build failed (exit ${run.status ?? run.signal})`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    ensureClient(process.argv.includes("--force"));
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
