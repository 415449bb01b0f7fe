import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import WebSocket from "ws";
import { ROOT_DIR, SETTINGS, loadConfig } from "../../src/config.ts";
import { recording } from "../support/audio.ts";
import { uploadRaw } from "../support/client.ts";
import { startTestServer, type TestServer } from "../support/server.ts";
import { compose, composeDefault, composeDefaults, dockerfile, durationSeconds, nginxIncludes, nginxLocations, read, templateVariables } from "./deploy-files.ts";

const { services, volumes } = compose();
const app = services.whisperrr!;
const nginx = services.nginx!;
const env = app.environment!;
const settingByEnv = new Map(Object.values(SETTINGS).map((s) => [s.env, s]));
/** Settings the container sets differently from the configuration defaults, and why. */
const CONTAINER_VALUES: Record<string, string> = {
  MODEL_DIR: "the models volume",
  SPOOL_DIR: "a fixed path inside the container",
  FFMPEG_PATH: "Debian's ffmpeg in the runtime image",
  POOL_SIZE: "the default CPU count is the host's, not the container's cpus limit",
  THREADS: "likewise: the CPUs to share are the cpus limit",
};

let server: TestServer;
test.before(async () => {
  server = await startTestServer({ POOL_SIZE: "1" });
});
test.after(async () => {
  await server.stop();
});

test("compose sets every setting of config.ts, nothing else, each with the configuration's default", () => {
  const settings = [...settingByEnv.keys()];
  assert.equal(Object.keys(env).sort(), [...settings].sort(), "environment names = SETTINGS env names");
  const defaults = loadConfig({});
  const resolved = composeDefaults(app);
  const config = loadConfig(resolved);
  for (const name of settings) {
    const key = settingByEnv.get(name)!.key;
    if (name in CONTAINER_VALUES) continue; // valid (loadConfig above accepted it), and set on purpose
    assert.equal(config[key], defaults[key], `${name}'s compose default is the configuration default`);
  }
});

test("ports: container, image, healthcheck and nginx upstream all use the configured default port", () => {
  const port = String(SETTINGS.port.parse(undefined));
  assert.is(String(env.PORT), port);
  assert.ok(app.ports!.every((p) => p.endsWith(`:${port}`)), `published ports map to ${port}: ${app.ports}`);
  const image = dockerfile().filter((i) => i.stage === "runtime");
  assert.is(image.find((i) => i.op === "EXPOSE")?.args, port);
  assert.match(image.find((i) => i.op === "ENV" && /\bPORT=/.test(i.args))!.args, new RegExp(`\\bPORT=${port}\\b`));
  assert.is(nginx.environment!.WHISPERRR_UPSTREAM, `whisperrr:${port}`, "nginx proxies to the whisperrr service's port");
});

test("healthcheck: the image's and compose's are the same /readyz probe, with room for the first model fetch", () => {
  const check = app.healthcheck!;
  const dockerCheck = dockerfile().find((i) => i.op === "HEALTHCHECK")!.args;
  assert.equal(JSON.parse(dockerCheck.slice(dockerCheck.indexOf("CMD ") + 4)), check.test.slice(1));
  assert.is(check.test[0], "CMD");
  assert.ok(durationSeconds(check.interval) <= 30 && durationSeconds(check.timeout) < durationSeconds(check.interval));
  assert.ok(check.retries >= 2);
  assert.ok(durationSeconds(check.start_period!) >= 120, "start_period covers a first-start model download and load");
});

test("the healthcheck command passes against a ready server and fails when nothing answers", () => {
  const [, ...command] = app.healthcheck!.test;
  const probe = (port: number) =>
    spawnSync(command[0]!, command.slice(1), { cwd: ROOT_DIR, env: { ...process.env, HOST: "0.0.0.0", PORT: String(port) }, encoding: "utf8" });
  const ok = probe(server.port);
  assert.is(ok.status, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /\/readyz: 200/);
  assert.is(probe(1).status, 1, "nothing listens on port 1");
});

test("stop: SIGTERM, and longer than the server's shutdown grace before SIGKILL", () => {
  assert.is(app.stop_signal, "SIGTERM");
  assert.is(dockerfile().find((i) => i.op === "STOPSIGNAL")?.args, "SIGTERM");
  const grace = SETTINGS.shutdownGraceSeconds.parse(composeDefault("SHUTDOWN_GRACE_SECONDS", env.SHUTDOWN_GRACE_SECONDS!));
  assert.ok(durationSeconds(app.stop_grace_period!) >= grace + 5, `stop_grace_period ${app.stop_grace_period} > ${grace} s`);
});

test("service basics: restart policy, model volume, resource limits", () => {
  assert.is(app.restart, "unless-stopped");
  assert.ok(app.volumes!.includes("models:/models") && volumes && "models" in volumes);
  assert.is(env.MODEL_DIR, "/models");
  assert.ok(app.deploy?.resources?.limits?.cpus && app.deploy.resources.limits.memory);
  assert.is(app.build?.args?.WHISPER_CPU, "${WHISPER_CPU:-x86-64-v3}");
});

test("nginx profile: waits for a healthy server; its templates use exactly the variables compose gives it", () => {
  assert.ok(nginx.profiles?.includes("proxy"));
  assert.is(nginx.depends_on?.whisperrr?.condition, "service_healthy");
  assert.equal([...templateVariables(nginx)].sort(), Object.keys(nginx.environment!).sort());
  const includes = nginxIncludes(nginx);
  assert.equal(includes.map((i) => i.file).sort(), ["whisperrr-locations.inc", "whisperrr-upstream.inc"]);
  assert.ok(includes.every((i) => i.mounted), `every included file is rendered from a mounted template: ${JSON.stringify(includes)}`);
  assert.is(nginx.environment!.MAX_UPLOAD_MB, env.MAX_UPLOAD_MB, "nginx's body limit is the server's MAX_UPLOAD_MB");
  for (const mount of nginx.volumes!) assert.ok(existsSync(path.join(ROOT_DIR, mount.split(":")[0]!)), `${mount} exists`);
  const locations = read("deploy/nginx/templates/whisperrr-locations.inc.template");
  assert.match(locations, /^client_max_body_size \$\{MAX_UPLOAD_MB\}m;$/m);
  assert.match(locations, /^proxy_buffering off;$/m, "events are not buffered");
  assert.match(locations, /^proxy_request_buffering off;$/m, "uploads stream through");
  assert.match(locations, /^proxy_set_header Upgrade \$http_upgrade;$/m);
  assert.match(locations, /^proxy_set_header Connection \$connection_upgrade;$/m);
  assert.not.match(locations, /^\s+proxy_set_header/m, "no location resets the shared headers");
  assert.match(read("deploy/nginx/templates/default.conf.template"), /^\s*include \/etc\/nginx\/conf\.d\/whisperrr-locations\.inc;$/m);
});

test("every nginx location leads to a real route of the server", async () => {
  const up = await uploadRaw(server.base, recording("fsdd_7_george_0_8k.wav").path);
  assert.is(up.status, 202);
  const locations = nginxLocations();
  assert.ok(locations.length >= 4);
  for (const { modifier, path: pattern } of locations) {
    if (modifier === "" && pattern === "/") continue; // the catch-all: whatever the server has
    const url = modifier === "~" ? pattern.replace(/^\^/, "").replace(/\$$/, "").replace("[^/]+", up.body.id) : pattern;
    if (modifier === "~") assert.match(url, new RegExp(pattern), `${url} is matched by ${pattern}`);
    if (url.startsWith("/ws")) {
      const ws = new WebSocket(`${server.base.replace("http", "ws")}${url}`);
      await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
      ws.close();
      continue;
    }
    const res = await fetch(`${server.base}${url}`);
    const body = await res.text();
    assert.is(res.status, 200, `${url} (location ${modifier} ${pattern}): ${res.status} ${body.slice(0, 200)}`);
  }
});

test.run();
