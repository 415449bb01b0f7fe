import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ROOT_DIR, loadConfig } from "../../src/config.ts";
import { waitFor } from "../support/server.ts";
import {
  NGINX_LOCATIONS_TEMPLATE,
  compose,
  composeDefaults,
  dockerfile,
  durationSeconds,
  mountedTemplates,
  nginxIncludes,
  nginxLocations,
  read,
  templateVariables,
  type ComposeService,
} from "./deploy-files.ts";
import { freePort } from "../support/redis.ts";

const { services, volumes } = compose();
const app = services.whisperrr!;
const redis = services.redis!;
const replica = services["whisperrr-replica"]!;
const lb = services["nginx-scale"]!;
const replicaConfig = loadConfig(composeDefaults(replica));

/** `source:target[:mode]` volume mounts of a service, as { source, target }. */
function mounts(service: ComposeService): { source: string; target: string }[] {
  return (service.volumes ?? []).map((m) => {
    const [source, target] = m.split(":") as [string, string];
    return { source, target };
  });
}

/** `1g`, `512m`, `256mb` → bytes. */
function bytes(text: string): number {
  const m = text.toLowerCase().match(/^(\d+)([kmg])b?$/);
  if (!m) throw new Error(`not a size: ${text}`);
  return Number(m[1]) * 1024 ** (" kmg".indexOf(m[2]!));
}

test("profiles: a bare `docker compose up` starts the single server only; proxy and scale add their own services", () => {
  const byProfile = (profile: string | undefined) =>
    Object.entries(services)
      .filter(([, s]) => (profile ? s.profiles?.includes(profile) : !s.profiles))
      .map(([name]) => name)
      .sort();
  assert.equal(byProfile(undefined), ["whisperrr"]);
  assert.equal(byProfile("proxy"), ["nginx"]);
  assert.equal(byProfile("scale"), ["nginx-scale", "redis", "spool-init", "whisperrr-replica"]);
  assert.is(loadConfig(composeDefaults(app)).redisUrl, null, "the single server stays in memory unless REDIS_URL is set");
});

test("the header's scale commands name services that exist, and starting nginx-scale brings up all it needs", () => {
  const header = read("compose.yaml").split("\n").filter((l) => l.startsWith("#"));
  const commands = header.filter((l) => /docker compose --profile scale up/.test(l));
  assert.ok(commands.length >= 2, "start and scale commands are in the header");
  for (const line of commands) {
    const named = [...line.matchAll(/--scale ([\w-]+)=\d+/g)].map((m) => m[1]!);
    const targets = line.replace(/^#\s*/, "").split(/\s{2,}/)[0]!.split(" ").slice(-1);
    for (const name of [...named, ...targets]) assert.ok(services[name]?.profiles?.includes("scale"), `${name} (in "${line}") is a scale service`);
  }
  const started = new Set<string>();
  const start = (name: string) => {
    if (started.has(name)) return;
    started.add(name);
    for (const dependency of Object.keys(services[name]!.depends_on ?? {})) start(dependency);
  };
  start("nginx-scale");
  assert.equal([...started].sort(), ["nginx-scale", "redis", "spool-init", "whisperrr-replica"], "and not the in-memory whisperrr");
});

test("redis: official redis 7 image, append-only file on a named volume, noeviction below its memory limit, healthcheck", () => {
  assert.match(redis.image!, /^redis:7(-|$)/);
  assert.is(redis.restart, "unless-stopped");
  const data = mounts(redis).find((m) => m.target === "/data");
  assert.ok(data && volumes && data.source in volumes, "/data (the image's working directory) is a named volume");
  const args = redis.command!.join(" ");
  assert.match(args, /--appendonly yes\b/);
  assert.match(args, /--maxmemory-policy noeviction\b/, "evicting job keys would lose jobs");
  const maxmemory = bytes(args.match(/--maxmemory (\S+)/)![1]!);
  assert.ok(maxmemory < bytes(redis.deploy!.resources!.limits!.memory!) * 0.75, "room for the AOF rewrite's fork");
  assert.match(redis.healthcheck!.test.join(" "), /redis-cli ping/);
  assert.ok(durationSeconds(redis.healthcheck!.timeout) < durationSeconds(redis.healthcheck!.interval));
});

test("replicas: at least two, same image, settings and healthcheck as the single server, Redis mode, no host port", () => {
  assert.ok((replica.deploy?.replicas ?? 1) >= 2);
  assert.is(replica.image, app.image);
  assert.equal(replica.build, app.build);
  assert.equal(replica.healthcheck, app.healthcheck);
  assert.is(replica.stop_grace_period, app.stop_grace_period);
  assert.equal(replica.deploy?.resources, app.deploy?.resources);
  assert.equal(replica.ports ?? [], [], "nginx is the way in");
  const changed = Object.keys(replica.environment!).filter((name) => replica.environment![name] !== app.environment![name]);
  assert.equal(changed.sort(), ["REDIS_URL", "SPOOL_DIR"], "only Redis and the shared spool differ");
  assert.equal(Object.keys(replica.environment!).sort(), Object.keys(app.environment!).sort());
  assert.is(composeDefaults(replica).REPLICA_ID, "", "REPLICA_ID left to each container's hostname");
});

test("replicas reach the redis service on the port it listens on, once it is healthy", () => {
  const url = new URL(replicaConfig.redisUrl!);
  assert.ok(services[url.hostname]?.healthcheck, `${url.hostname} is a service with a healthcheck`);
  assert.is(url.hostname, "redis");
  const port = redis.command!.join(" ").match(/--port (\d+)/)?.[1] ?? "6379";
  assert.is(url.port || "6379", port);
  assert.is(replica.depends_on?.redis?.condition, "service_healthy");
});

test("replicas mount one shared volume at exactly their SPOOL_DIR, made writable for the image's user first", () => {
  const spool = mounts(replica).find((m) => m.target === replicaConfig.spoolDir);
  assert.ok(spool, `a volume is mounted at SPOOL_DIR=${replicaConfig.spoolDir}`);
  assert.ok(volumes && spool!.source in volumes, "a named volume, the same for every container of the service");
  assert.ok(mounts(replica).some((m) => m.source === "models" && m.target === replicaConfig.modelDir));
  const init = services["spool-init"]!;
  assert.is(replica.depends_on?.["spool-init"]?.condition, "service_completed_successfully");
  assert.is(init.image, app.image);
  const user = dockerfile().filter((i) => i.stage === "runtime" && i.op === "USER").at(-1)!.args;
  const target = mounts(init).find((m) => m.source === spool!.source)!.target;
  assert.equal(init.command, ["chown", `${user}:${user}`, target], "the spool's root is handed to the user the server runs as");
  assert.is(init.user, "root");
});

test("nginx-scale: the proxy profile's server and locations, the replicas as upstream, once they are healthy", () => {
  assert.is(lb.depends_on?.["whisperrr-replica"]?.condition, "service_healthy");
  assert.is(lb.environment!.WHISPERRR_UPSTREAM, `whisperrr-replica:${replicaConfig.port}`);
  assert.is(lb.environment!.MAX_UPLOAD_MB, replica.environment!.MAX_UPLOAD_MB, "nginx's body limit is the replicas' MAX_UPLOAD_MB");
  assert.equal([...templateVariables(lb)].sort(), Object.keys(lb.environment!).sort());
  for (const { source } of mounts(lb)) assert.ok(existsSync(path.join(ROOT_DIR, source)), `${source} exists`);
  const templates = mountedTemplates(lb);
  assert.is(templates.get("whisperrr-locations.inc"), NGINX_LOCATIONS_TEMPLATE);
  assert.is(templates.get("default.conf"), mountedTemplates(services.nginx!).get("default.conf"));
  const includes = nginxIncludes(lb);
  assert.ok(includes.some((i) => i.file === "whisperrr-upstream.inc") && includes.every((i) => i.mounted), JSON.stringify(includes));
  const upstream = read(templates.get("whisperrr-upstream.inc")!);
  assert.match(upstream, /^resolver 127\.0\.0\.11\b/m, "Docker's DNS, asked again while running");
  assert.match(upstream, /^\s*zone whisperrr \d+k;$/m);
  assert.match(upstream, /^\s*server \$\{WHISPERRR_UPSTREAM\} resolve;$/m, "every replica behind the one service name");
  assert.not.match(upstream, /^\s*(ip_hash|hash|sticky)\b/m, "any replica answers any request: nothing sticky");
});

test("nginx-scale's locations: events unbuffered with a long read timeout, /ws and /ws/live upgraded", () => {
  const locations = read(mountedTemplates(lb).get("whisperrr-locations.inc")!);
  assert.match(locations, /^proxy_buffering off;$/m);
  assert.not.match(locations, /proxy_buffering on/);
  assert.match(locations, /^proxy_request_buffering off;$/m, "uploads stream through");
  assert.match(locations, /^client_max_body_size \$\{MAX_UPLOAD_MB\}m;$/m);
  const events = nginxLocations().find((l) => l.modifier === "~" && new RegExp(l.path).test("/api/jobs/abc123/events"));
  assert.ok(events, "a location for a job's event stream");
  const block = (pattern: string) => locations.slice(locations.indexOf(`${pattern} {`)).split("}")[0]!;
  assert.ok(durationSeconds(block(events!.path).match(/proxy_read_timeout (\S+);/)![1]!) >= 3600, "the stream outlives a long job");
  const ws = nginxLocations().filter((l) => l.modifier === "" && ["/ws", "/ws/live"].every((route) => route.startsWith(l.path)) && l.path !== "/");
  assert.equal(ws.map((l) => l.path), ["/ws"], "one prefix location covers /ws and /ws/live");
  assert.match(locations, /^proxy_set_header Upgrade \$http_upgrade;$/m);
  assert.match(locations, /^proxy_set_header Connection \$connection_upgrade;$/m);
  assert.not.match(locations, /^\s+proxy_set_header/m, "no location resets the upgrade headers");
});

let server: ChildProcess | undefined;
let redisDir: string;
let redisPort: number;
const cli = (...args: string[]) => spawnSync("redis-cli", ["-p", String(redisPort), ...args], { encoding: "utf8" });
/** The compose healthcheck, aimed at the test's port (in the container Redis is on the default one). */
const healthcheck = () => {
  const [kind, shell] = redis.healthcheck!.test as [string, string];
  assert.is(kind, "CMD-SHELL");
  return spawnSync("sh", ["-c", shell.replace(/\bredis-cli\b/, `redis-cli -p ${redisPort}`)], { encoding: "utf8" });
};

test("redis-server accepts compose's command line: AOF written, writes refused (not evicted) when full, healthcheck passes", async () => {
  redisDir = mkdtempSync(path.join(tmpdir(), "whisperrr-redis-"));
  redisPort = await freePort();
  const [binary, ...args] = redis.command!;
  server = spawn(binary!, [...args, "--port", String(redisPort), "--bind", "127.0.0.1", "--dir", redisDir], { stdio: "ignore" });
  await waitFor(() => cli("ping").stdout.trim() === "PONG", 10_000, "redis-server");
  assert.is(healthcheck().status, 0, "healthy while it answers");
  assert.equal(cli("config", "get", "maxmemory-policy").stdout.split("\n").slice(0, 2), ["maxmemory-policy", "noeviction"]);
  assert.is(cli("config", "get", "appendonly").stdout.split("\n")[1], "yes");
  assert.is(cli("set", "whisperrr:job:1", "queued").stdout.trim(), "OK");
  await waitFor(() => readdirSync(redisDir, { recursive: true }).some((f) => String(f).includes(".aof")), 10_000, "an append-only file in /data");
  cli("config", "set", "maxmemory", "1");
  assert.match(cli("set", "whisperrr:job:2", "queued").stdout, /OOM/, "a write over maxmemory is refused");
  assert.is(cli("get", "whisperrr:job:1").stdout.trim(), "queued", "and no key was evicted to make room");
});

test("the redis healthcheck fails when Redis does not answer", async () => {
  assert.ok(server, "redis-server ran in the test above");
  const exited = new Promise((r) => server!.once("exit", r));
  server!.kill("SIGTERM");
  await exited;
  assert.is.not(healthcheck().status, 0);
});

test.after(() => {
  if (server?.exitCode === null) server.kill("SIGKILL");
  if (redisDir) rmSync(redisDir, { recursive: true, force: true });
});

test.run();
