import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { ROOT_DIR } from "../../src/config.ts";
import { dockerfile, read, scriptLines } from "./deploy-files.ts";

const instructions = dockerfile();
const stage = (name: string) => instructions.filter((i) => i.stage === name);
const runs = (name: string) => stage(name).filter((i) => i.op === "RUN").map((i) => i.args);
/** Invocations of a project script, e.g. `scripts/build.sh deps app`, as [script, ...arguments]. */
const invocations = (commands: string[], script: string) =>
  commands.flatMap((c) => [...c.matchAll(new RegExp(`(?:^|&&|;|\\s)${script.replace(".", "\\.")}((?:\\s+[a-z][a-z0-9-]*)+)`, "g"))].map((m) => m[1]!.trim().split(/\s+/)));
const ci = scriptLines(".ci/run");

test("the image's build stage and CI install and build through the same scripts", () => {
  const build = runs("build");
  const ciPackages = invocations(ci, "scripts/install-system-packages.sh").flat();
  const imagePackages = invocations(build, "scripts/install-system-packages.sh").flat();
  assert.ok(imagePackages.length > 0 && imagePackages.every((p) => ciPackages.includes(p)), `image profiles ${imagePackages} are installed by CI too (${ciPackages})`);

  const ciSteps = invocations(ci, "scripts/build.sh").flat();
  const imageSteps = invocations(build, "scripts/build.sh").flat();
  assert.equal(ciSteps, ["deps", "app"], "CI installs and builds with scripts/build.sh");
  assert.equal(imageSteps.filter((s) => s !== "prune"), ciSteps, "the image runs the same steps, in the same order");
  assert.is(imageSteps.at(-1), "prune", "the image drops dev dependencies last");

  // Nothing installs or builds around the shared script.
  for (const command of [...build, ...ci]) assert.not.match(command, /\bnpm (ci|install|i|run build|prune)\b/, command);
});

test("scripts/build.sh runs what it documents and refuses unknown steps", () => {
  const body = read("scripts/build.sh");
  assert.match(body, /deps\) (\w+=\S+ )*npm ci\b/);
  assert.match(body, /app\) npm run build\b/);
  assert.match(body, /prune\) npm prune --omit=dev\b/);
  const bad = spawnSync(path.join(ROOT_DIR, "scripts/build.sh"), ["bogus"], { encoding: "utf8" });
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /unknown step: bogus/);
  for (const script of ["scripts/build.sh", "scripts/install-system-packages.sh", ".ci/run"]) {
    assert.is(spawnSync("bash", ["-n", path.join(ROOT_DIR, script)]).status, 0, `${script} parses`);
  }
  const rootScripts = JSON.parse(read("package.json")).scripts as Record<string, string>;
  assert.ok(rootScripts.build, "package.json has the build script scripts/build.sh app runs");
});

test("WHISPER_CPU is a build argument, x86-64-v3 by default, in the environment of the dependency install", () => {
  const build = stage("build");
  const arg = build.find((i) => i.op === "ARG" && i.args.startsWith("WHISPER_CPU"));
  assert.is(arg?.args, "WHISPER_CPU=x86-64-v3");
  const env = build.findIndex((i) => i.op === "ENV" && /\bWHISPER_CPU=\$\{WHISPER_CPU\}/.test(i.args));
  const deps = build.findIndex((i) => i.op === "RUN" && /scripts\/build\.sh deps/.test(i.args));
  assert.ok(env !== -1 && env < deps, "ENV WHISPER_CPU is set before scripts/build.sh deps");
  assert.match(read("scripts/build-whisper.mjs"), /process\.env\.WHISPER_CPU/);
});

test("runtime stage: slim Node 20, ffmpeg, non-root, model volume, SIGTERM, /readyz healthcheck, node as PID 1", () => {
  const nodeVersion = instructions.find((i) => i.op === "ARG" && i.args.startsWith("NODE_VERSION="))!.args.split("=")[1];
  const from = instructions.find((i) => i.op === "FROM" && i.stage === "runtime")!;
  assert.is(from.args.replace("${NODE_VERSION}", nodeVersion!), "node:20-bookworm-slim AS runtime");
  const runtime = stage("runtime");
  assert.ok(invocations(runs("runtime"), "scripts/install-system-packages.sh").flat().includes("runtime"));
  assert.match(read("scripts/install-system-packages.sh"), /\[runtime\]="[^"]*\bffmpeg\b/);
  const user = runtime.filter((i) => i.op === "USER").at(-1)?.args;
  assert.ok(user && user !== "root" && user !== "0", `runs as ${user}`);
  assert.ok(runtime.some((i) => i.op === "VOLUME" && i.args === "/models"));
  assert.ok(runtime.some((i) => i.op === "ENV" && /\bMODEL_DIR=\/models\b/.test(i.args)));
  assert.is(runtime.find((i) => i.op === "STOPSIGNAL")?.args, "SIGTERM");
  assert.match(runtime.find((i) => i.op === "HEALTHCHECK")!.args, /CMD \["node", "scripts\/healthcheck\.mjs", "\/readyz"\]$/);
  assert.is(runtime.find((i) => i.op === "CMD")?.args, '["node", "--import", "tsx", "server/src/main.ts"]');
  assert.is(runtime.find((i) => i.op === "EXPOSE")?.args, "8080");
});

test("everything the Dockerfile copies from the context exists and is not excluded by .dockerignore", () => {
  const ignored = read(".dockerignore").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  const toRegExp = (pattern: string) =>
    new RegExp(`^${pattern.replace(/[.+^$()|[\]]/g, "\\$&").replace(/\*\*\//g, "(.*/)?").replace(/\*/g, "[^/]*")}(/.*)?$`);
  const excluded = (file: string) => ignored.some((p) => toRegExp(p).test(file));
  const copies = instructions.filter((i) => i.op === "COPY" && !i.args.startsWith("--from"));
  for (const copy of copies) {
    for (const source of copy.args.split(" ").slice(0, -1)) {
      if (source === ".") continue;
      assert.ok(existsSync(path.join(ROOT_DIR, source)), `${source} exists`);
      assert.not.ok(excluded(source), `${source} is not in .dockerignore`);
    }
  }
  for (const heavy of ["node_modules", "server/node_modules", "models", "client/build", ".git"]) assert.ok(excluded(heavy), `${heavy} stays out of the context`);
});

test.run();
