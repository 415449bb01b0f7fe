#!/usr/bin/env node
// Builds smart-whisper's whisper.cpp for this CPU (npm's default build has no SIMD flags and
// is several times slower). The package's own install script is disabled in package.json
// ("allowScripts") so whisper.cpp compiles once, here, with the chosen level.
//
// WHISPER_CPU selects the instruction set: "native" (default: this machine's CPU),
// "x86-64-v3" (AVX2/FMA/F16C, the portable choice for images that run elsewhere),
// "x86-64-v2", "x86-64" (baseline SSE2), or any other -march value the compiler knows.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const level = process.env.WHISPER_CPU?.trim() || "native";
if (!/^[a-z0-9._-]+$/i.test(level)) {
  console.error(`WHISPER_CPU="${level}" is not a valid -march value (e.g. native, x86-64-v3).`);
  process.exit(1);
}

const pkgDir = dirname(require.resolve("smart-whisper/package.json"));
const addon = join(pkgDir, "build", "Release", "smart-whisper.node");
const stampFile = join(pkgDir, "build", "Release", "whisperrr-build.json");
const flags = `-march=${level}`;

const FEATURES = ["SSE3", "SSSE3", "AVX", "AVX2", "FMA", "F16C", "AVX512F", "AVX512BW", "AVX512VNNI"];

function compilerFeatures() {
  const cc = process.env.CC || "cc";
  const out = execFileSync(cc, [flags, "-dM", "-E", "-x", "c", "/dev/null"], { encoding: "utf8" });
  return FEATURES.filter((f) => out.includes(`#define __${f}__ 1`));
}

function readStamp() {
  try {
    return JSON.parse(readFileSync(stampFile, "utf8"));
  } catch {
    return null;
  }
}

const stamp = readStamp();
if (existsSync(addon) && stamp?.flags === flags && process.env.WHISPER_REBUILD !== "1") {
  console.log(`whisper.cpp already built with ${flags} (${stamp.features.join(" ") || "no SIMD"})`);
  process.exit(0);
}

const features = compilerFeatures();
console.log(`building whisper.cpp with ${flags} (${features.join(" ") || "no SIMD"}); this takes a minute…`);
const started = Date.now();
// -w: whisper.cpp's unused-function warnings would bury the install log.
const env = { ...process.env, CFLAGS: `${flags} -w`, CXXFLAGS: `${flags} -w` };
const gyp = require.resolve("node-gyp/bin/node-gyp.js");
const result = spawnSync(process.execPath, [gyp, "rebuild", "--jobs", "max", "--loglevel", "warn"], {
  cwd: pkgDir,
  env,
  stdio: ["ignore", "ignore", "inherit"],
});
if (result.status !== 0) {
  console.error(`whisper.cpp build failed (exit ${result.status}). Check that python3, make and g++ are installed.`);
  process.exit(1);
}
writeFileSync(stampFile, JSON.stringify({ flags, level, features, builtAt: new Date().toISOString() }, null, 2));
console.log(`whisper.cpp built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
