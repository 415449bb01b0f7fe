import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { get as httpsGet } from "node:https";
import { tmpdir, userInfo } from "node:os";
import path from "node:path";
import WebSocket from "ws";
import type { JobSnapshot } from "@whisperrr/shared";
import { assertCompletedFlow } from "../support/assertions.ts";
import { recording } from "../support/audio.ts";
import { readWs, uploadMultipart, uploadRaw } from "../support/client.ts";
import { startTestServer, waitFor, type TestServer } from "../support/server.ts";
import { wordErrorRate } from "../support/wer.ts";
import { compose, mountedTemplates, read, type ComposeService } from "./deploy-files.ts";
import { freePort } from "../support/redis.ts";

const NGINX = "/usr/sbin/nginx";
const MAX_UPLOAD_MB = "1";
/** The compose services running nginx: `nginx` (profile proxy) and `nginx-scale` (profile scale). */
const SERVICES = ["nginx", "nginx-scale"] as const;
type NginxService = (typeof SERVICES)[number];

interface RunningNginx {
  process: ChildProcess;
  /** http://127.0.0.1:port of its HTTP server. */
  base: string;
  port: number;
  tlsPort: number;
  /** Its config, logs and temporary files. */
  dir: string;
}

let server: TestServer;
const running = new Map<NginxService, RunningNginx>();
const nginx = (name: NginxService) => running.get(name)!;

/**
 * The templates the compose service mounts, rendered as the nginx image would (the variables of
 * its compose environment, the upstream being the test server), listening on a loopback port,
 * with every file nginx writes in `dir`, inside a minimal main config.
 */
function renderConfig(service: ComposeService, dir: string, listenPort: number, upstreamPort: number, tlsPort: number): string {
  const vars: Record<string, string> = { MAX_UPLOAD_MB, WHISPERRR_UPSTREAM: `127.0.0.1:${upstreamPort}` };
  assert.equal(Object.keys(vars).sort(), Object.keys(service.environment!).sort(), "the test sets only what compose sets");
  const render = (file: string) =>
    read(file)
      .replace(/\$\{([A-Z_]+)\}/g, (_, name: string) => vars[name] ?? `<unset ${name}>`)
      // Debian 12's nginx (1.22) predates `resolve` in upstream servers (open source since 1.27.3);
      // here the upstream is an address anyway.
      .replace(/^(\s*server \S+) resolve;$/m, "$1;");
  const localIncludes = (text: string) => text.replace(/^(\s*)include \/etc\/nginx\/conf\.d\//gm, `$1include ${dir}/`);
  const templates = mountedTemplates(service);
  for (const [name, file] of templates) {
    const text = render(file);
    assert.not.match(text, /<unset /, `every variable of ${file} has a value`);
    writeFileSync(path.join(dir, name), localIncludes(text));
  }
  const site = localIncludes(enableTls(render(templates.get("default.conf")!), dir, tlsPort)).replace(/^(\s*)listen 80 /m, `$1listen 127.0.0.1:${listenPort} `);
  assert.match(site, new RegExp(`listen 127\\.0\\.0\\.1:${listenPort} default_server;`));
  writeFileSync(path.join(dir, "site.conf"), site);
  const conf = path.join(dir, "nginx.conf");
  writeFileSync(
    conf,
    [
      process.getuid?.() === 0 ? `user ${userInfo().username};` : "",
      "worker_processes 1;",
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log info;`,
      "events { worker_connections 256; }",
      "http {",
      `  access_log ${dir}/access.log;`,
      // The server asks proxies not to buffer its event streams; ignoring that here makes the
      // test depend on the repo's own nginx settings.
      "  proxy_ignore_headers X-Accel-Buffering;",
      ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `  ${t}_temp_path ${dir}/${t};`),
      `  include ${dir}/site.conf;`,
      "}",
    ].join("\n"),
  );
  return conf;
}

/** Uncomments the HTTPS server as its comment says to, with a self-signed certificate, on a loopback port. */
function enableTls(site: string, dir: string, port: number): string {
  const made = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
    "-keyout", path.join(dir, "privkey.pem"), "-out", path.join(dir, "fullchain.pem")], { encoding: "utf8" });
  assert.is(made.status, 0, made.stderr);
  const block = site.match(/^# server \{\n(?:#.*\n)*?# \}$/m)?.[0];
  assert.ok(block, "the HTTPS server is in the config, commented out");
  const enabled = block!
    .replace(/^# ?/gm, "")
    .replace("listen 443 ", `listen 127.0.0.1:${port} `)
    .replace(/\/etc\/nginx\/certs\//g, `${dir}/`)
    // Debian 12's nginx (1.22) predates the `http2` directive of the image's nginx (1.25.1+).
    .replace(/^\s*http2 on;\n/m, "");
  return site.replace(block!, enabled);
}

/** nginx with the config of compose service `name`, in front of the test server. */
async function startNginx(name: NginxService): Promise<RunningNginx> {
  const dir = mkdtempSync(path.join(tmpdir(), `whisperrr-${name}-`));
  const [port, tlsPort] = [await freePort(), await freePort()];
  const conf = renderConfig(compose().services[name]!, dir, port, server.port, tlsPort);
  const args = ["-p", dir, "-c", conf, "-e", path.join(dir, "error.log")];
  const check = spawnSync(NGINX, [...args, "-t"], { encoding: "utf8" });
  assert.is(check.status, 0, `${name}: nginx -t: ${check.stderr}`);
  const child = spawn(NGINX, [...args, "-g", "daemon off;"], { stdio: "ignore" });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${base}/healthz`)).status === 200, 20_000, `${name} proxying`);
  return { process: child, base, port, tlsPort, dir };
}

async function stopNginx({ process: child, dir }: RunningNginx): Promise<void> {
  if (child.exitCode === null) {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGQUIT");
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
}

test.before(async () => {
  // Short greedy windows: several windows per file, so events keep coming while the job runs.
  server = await startTestServer({ POOL_SIZE: "1", MAX_UPLOAD_MB, WINDOW_SECONDS: "10", BEAM_SIZE: "1" });
  for (const name of SERVICES) running.set(name, await startNginx(name));
});
test.after(async () => {
  for (const proxy of running.values()) await stopNginx(proxy);
  await server?.stop();
});

interface ProxiedStream {
  events: { type: string; seq: number }[];
  /** The job's status straight from the server when its first `queued` and first `segment` came through the proxy. */
  statusAt: { queued?: string; segment?: string };
}

/** Reads the SSE stream through the proxy, asking the server directly how far the job is when key events arrive. */
function readSseThroughProxy(proxy: string, jobId: string, onQueued: () => Promise<void>): Promise<ProxiedStream> {
  return new Promise((resolve, reject) => {
    const result: ProxiedStream = { events: [], statusAt: {} };
    const checks: Promise<void>[] = [];
    const statusNow = (type: "queued" | "segment") => {
      result.statusAt[type] = "pending";
      const check = fetch(`${server.base}/api/jobs/${jobId}`)
        .then((r) => r.json() as Promise<JobSnapshot>)
        .then((snapshot) => void (result.statusAt[type] = snapshot.status));
      checks.push(type === "queued" ? check.then(onQueued) : check);
    };
    const req = request(`${proxy}/api/jobs/${jobId}/events`, (res) => {
      assert.is(res.statusCode, 200);
      assert.match(String(res.headers["content-type"]), /^text\/event-stream/);
      let buffered = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffered += chunk;
        const blocks = buffered.split("\n\n");
        buffered = blocks.pop()!;
        for (const data of blocks.map((b) => b.match(/^data: (.*)$/m)?.[1])) {
          if (data === undefined) continue;
          const event = JSON.parse(data) as { type: string; seq: number };
          result.events.push(event);
          if ((event.type === "queued" || event.type === "segment") && !(event.type in result.statusAt)) statusNow(event.type);
        }
      });
      res.on("end", () => void Promise.all(checks).then(() => resolve(result), reject));
    });
    req.on("error", reject);
    req.end();
  });
}

for (const name of SERVICES) {
  test(`an upload streamed through ${name}; its SSE events arrive through it as they happen`, async () => {
    // A job holding the only model slot keeps the proxied job queued, its stream quiet but for one small event.
    const blocker = await uploadRaw(server.base, recording("librivox_sonnet001_en.mp3").path);
    await waitFor(async () => ((await (await fetch(`${server.base}/api/jobs/${blocker.body.id}`)).json()) as JobSnapshot).status === "running", 30_000, "blocker running");
    const up = await uploadRaw(nginx(name).base, recording("asterisk_demo-congrats_8k.wav").path);
    assert.is(up.status, 202, JSON.stringify(up.body));
    const sse = await readSseThroughProxy(nginx(name).base, up.body.id, async () => {
      await fetch(`${server.base}/api/jobs/${blocker.body.id}`, { method: "DELETE" });
    });
    assertCompletedFlow(sse.events as Parameters<typeof assertCompletedFlow>[0]);
    assert.is(sse.statusAt.queued, "queued", "the lone queued event came through while nothing else was written (no buffering)");
    assert.is(sse.statusAt.segment, "running", "the first segment came through before the job ended");
  });
}

test("a multipart upload through nginx, followed over a WebSocket through nginx", async () => {
  const file = recording("librispeech_1089-134686-0001.wav");
  const up = await uploadMultipart(nginx("nginx").base, file.path, { language: "en" });
  assert.is(up.status, 202, JSON.stringify(up.body));
  const { events, messages } = await readWs(nginx("nginx").base, up.body.id);
  assert.is(messages[0]!.type, "subscribed");
  assertCompletedFlow(events);
  const done = events.at(-1)!;
  const score = wordErrorRate(file.transcript, done.type === "completed" ? done.text : "");
  assert.is(score.errors, 0, `word errors through the proxy: ${score.errors}`);
});

test("nginx-scale upgrades /ws and /ws/live to WebSockets", async () => {
  for (const route of ["/ws", "/ws/live"]) {
    const ws = new WebSocket(`${nginx("nginx-scale").base.replace("http", "ws")}${route}`);
    const status = await new Promise<number>((resolve, reject) => {
      ws.once("upgrade", (res) => resolve(res.statusCode ?? 0)).once("error", reject);
    });
    assert.is(status, 101, route);
    ws.close();
  }
});

for (const name of SERVICES) {
  test(`${name} refuses bodies over MAX_UPLOAD_MB and does not publish /metrics`, async () => {
    const big = await fetch(`${nginx(name).base}/api/jobs`, { method: "POST", body: new Uint8Array(Number(MAX_UPLOAD_MB) * 1048576 + 1) });
    assert.is(big.status, 413);
    assert.is((await fetch(`${nginx(name).base}/metrics`)).status, 403);
    assert.is((await fetch(`${server.base}/metrics`)).status, 200, "the server itself still answers /metrics");
  });
}

test("nginx-scale's compose healthcheck passes through it to a server and fails when nothing answers", () => {
  const [kind, ...command] = compose().services["nginx-scale"]!.healthcheck!.test;
  assert.is(kind, "CMD");
  const probe = (port: number) => {
    const args = command.slice(1).map((a) => a.replace(/^http:\/\/127\.0\.0\.1\//, `http://127.0.0.1:${port}/`));
    assert.ok(args.some((a) => a.includes(`:${port}/`)), `the check asks nginx on port 80: ${command}`);
    return spawnSync(command[0]!, args, { encoding: "utf8" });
  };
  const ok = probe(nginx("nginx-scale").port);
  assert.is(ok.status, 0, ok.stderr);
  assert.is.not(probe(1).status, 0, "nothing listens on port 1");
});

test("the HTTPS server block, once uncommented with a certificate, serves the API over TLS", async () => {
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpsGet({ host: "127.0.0.1", port: nginx("nginx").tlsPort, path: "/readyz", rejectUnauthorized: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
  });
  assert.is(answer.status, 200);
  assert.is(JSON.parse(answer.body).ready, true);
});

test.run();
