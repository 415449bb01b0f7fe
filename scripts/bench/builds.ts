// Scratch builds of smart-whisper's whisper.cpp at other instruction-set levels, for the
// build comparison. They live under the OS temp dir, never in the project's node_modules.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import type * as SmartWhisper from "smart-whisper";

const require = createRequire(import.meta.url);
const serverRequire = createRequire(path.resolve(import.meta.dirname, "../../server/package.json"));
const PACKAGE_DIR = path.dirname(serverRequire.resolve("smart-whisper/package.json"));
const SCRATCH = path.join(os.tmpdir(), "whisperrr-bench", "builds");

/** "default" is what `npm install smart-whisper` produces: no -march flag at all (baseline x86-64, SSE2). */
export type BuildLevel = "default" | "native" | "x86-64-v3";

export interface BuildHandle {
  level: BuildLevel;
  flags: string;
  /** The smart-whisper module loaded from this build. */
  module: typeof SmartWhisper;
}

function flagsOf(level: BuildLevel): string {
  return level === "default" ? "" : `-march=${level}`;
}

/** The project's own build for "native"; a cached scratch build for the other levels. */
export function loadBuild(level: BuildLevel, log: (line: string) => void): BuildHandle {
  if (level === "native") return { level, flags: flagsOf(level), module: serverRequire("smart-whisper") as typeof SmartWhisper };
  const dir = path.join(SCRATCH, level, "node_modules", "smart-whisper");
  const stamp = path.join(dir, "build", "Release", "bench-build.json");
  const flags = flagsOf(level);
  if (!existsSync(stamp) || JSON.parse(readFileSync(stamp, "utf8")).flags !== flags) compile(dir, flags, log);
  return { level, flags, module: require(path.join(dir, "dist", "index.js")) as typeof SmartWhisper };
}

function compile(dir: string, flags: string, log: (line: string) => void): void {
  log(`compiling whisper.cpp with ${flags || "no -march flag"} into ${dir} (a few minutes, cached afterwards)…`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.dirname(dir), { recursive: true });
  cpSync(PACKAGE_DIR, dir, { recursive: true, filter: (src) => !src.startsWith(path.join(PACKAGE_DIR, "build")) });
  // binding.gyp asks node for node-addon-api's include path, resolved next to the package.
  const addonApi = path.dirname(serverRequire.resolve("node-addon-api/package.json"));
  const link = path.join(path.dirname(dir), "node-addon-api");
  if (!existsSync(link)) symlinkSync(addonApi, link);
  const gyp = serverRequire.resolve("node-gyp/bin/node-gyp.js");
  const result = spawnSync(process.execPath, [gyp, "rebuild", "--jobs", "max", "--loglevel", "warn"], {
    cwd: dir,
    env: { ...process.env, CFLAGS: flags, CXXFLAGS: flags },
    stdio: ["ignore", "ignore", "pipe"],
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`scratch build with "${flags}" failed (exit ${result.status}):\n${result.stderr.slice(-2000)}`);
  writeFileSync(path.join(dir, "build", "Release", "bench-build.json"), JSON.stringify({ flags }));
}
