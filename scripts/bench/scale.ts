// `npm run bench:scale`: what Redis mode buys and costs on this machine, measured in one run.
//   1. Aggregate throughput: K jobs submitted at once to one replica, then to the first of two
//      replicas (the Redis queue spreads them), each replica POOL_SIZE=1 × THREADS=1.
//   2. Event delivery latency: every event's arrival at an SSE subscriber minus its `at` (set by
//      the process running the job; same machine clock), in memory vs through Redis to a
//      subscriber on another replica than the runner.
// Writes bench-results/scale.json and prints a table. A report, not a test: it asserts nothing.
//   --quick   2 short jobs instead of 4 × 53 s, and an 11 s clip for latency
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { JobEvent } from "@whisperrr/shared";
import { isTerminalEvent } from "@whisperrr/shared";
import { ROOT_DIR } from "../../server/src/config.ts";
import { recording, type Recording } from "../../server/test/support/audio.ts";
import { startRedis, type TestRedis } from "../../server/test/support/redis.ts";
import { writeJson } from "./inputs.ts";
import { launch, upload, type TestServer } from "./server.ts";
import { printTable, type Row } from "./table.ts";

const quick = process.argv.includes("--quick");
const OUT_FILE = path.join(ROOT_DIR, "bench-results/scale.json");
const JOB_FILES = quick ? ["librispeech_1221-135766-0001.wav", "librispeech_1221-135766-0001.wav"] : Array<string>(4).fill("librivox_sonnet001_en.mp3");
const LATENCY_FILE = quick ? "jfk_inaugural_16k.wav" : "librivox_sonnet001_en.mp3";
/** Jobs run one after another per mode, their events pooled: one job emits only about a dozen. */
const LATENCY_JOBS = quick ? 1 : 3;
/** Per replica, so two replicas on this 2-core machine use one core each. */
const REPLICA_ENV = { POOL_SIZE: "1", THREADS: "1" };
/** No job here should take this long even on a loaded machine; past it the run fails instead of hanging. */
const FOLLOW_TIMEOUT_MS = 30 * 60_000;

const rows: Row[] = [];
const results: Record<string, unknown> = {};
const log = (line: string) => process.stderr.write(`[bench:scale ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const r2 = (n: number) => Math.round(n * 100) / 100;
const loadAverage = () => os.loadavg().map(r2);

/** Every child process this run started, stopped in reverse order at the end, also after an error. */
const running: { stop(): Promise<unknown> }[] = [];

async function stopAll(): Promise<void> {
  while (running.length > 0) await running.pop()!.stop();
}

/** SIGTERM (graceful shutdown), SIGKILL if it takes longer than 20 s. */
function tracked(server: TestServer): TestServer {
  running.push({
    stop: () => Promise.race([server.stop(), new Promise((r) => setTimeout(r, 20_000))]).then(() => server.stop("SIGKILL")),
  });
  return server;
}

interface Arrival {
  event: JobEvent;
  arrivedAt: number;
}

interface Subscription {
  /** When the stream's response headers arrived: events emitted later were delivered live, not replayed. */
  connectedAt: number;
  arrivals: Arrival[];
}

/** Follows a job's SSE stream to its end, stamping each event with the time it arrived here. */
async function subscribe(base: string, jobId: string): Promise<Subscription> {
  const res = await fetch(`${base}/api/jobs/${jobId}/events`, { signal: AbortSignal.timeout(FOLLOW_TIMEOUT_MS) });
  const sub: Subscription = { connectedAt: Date.now(), arrivals: [] };
  if (!res.ok || !res.body) throw new Error(`SSE for ${jobId} on ${base} answered ${res.status}`);
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of res.body) {
    const arrivedAt = Date.now();
    const blocks = (pending + decoder.decode(chunk as Uint8Array, { stream: true })).split("\n\n");
    pending = blocks.pop()!;
    for (const block of blocks) {
      const data = block.split("\n").find((line) => line.startsWith("data: "));
      if (data) sub.arrivals.push({ event: JSON.parse(data.slice(6)) as JobEvent, arrivedAt });
    }
  }
  return sub;
}

function terminalOf(sub: Subscription): Arrival {
  const last = sub.arrivals.at(-1);
  if (!last || !isTerminalEvent(last.event)) throw new Error(`stream ended without a terminal event: ${JSON.stringify(last?.event)}`);
  if (last.event.type !== "completed") throw new Error(`job ${last.event.jobId} ended ${last.event.type}: ${JSON.stringify(last.event)}`);
  return last;
}

/** The REPLICA_ID whose log says it took (or last resumed) the job. */
function runnerOf(replicas: Map<string, TestServer>, jobId: string): string | undefined {
  const took = (s: TestServer) => s.logs.some((l) => l.jobId === jobId && (l.msg === "job taken" || l.msg === "job resumed"));
  return [...replicas].filter(([, s]) => took(s)).map(([id]) => id).at(-1);
}

async function startReplicas(ids: string[], redis: TestRedis, spoolDir: string, prefix: string): Promise<Map<string, TestServer>> {
  const started = await Promise.all(
    ids.map(async (id) => [id, tracked(await launch({ ...REPLICA_ENV, REDIS_URL: redis.url, REDIS_PREFIX: prefix, REPLICA_ID: id, SPOOL_DIR: spoolDir }))] as const),
  );
  return new Map(started);
}

interface Throughput {
  replicas: number;
  jobs: number;
  audioSeconds: number;
  wallSeconds: number;
  audioSecondsPerSecond: number;
  jobsPerReplica: Record<string, number>;
  loadAverageAfter: number[];
}

/** All jobs uploaded at once to the first replica, each followed there until it completes. */
async function throughput(replicas: Map<string, TestServer>, clips: Recording[]): Promise<Throughput> {
  const first = [...replicas.values()][0]!;
  const began = Date.now();
  const runs = await Promise.all(
    clips.map(async (clip) => {
      const { id } = await upload(first.base, clip.path, { query: `language=${clip.language}` });
      return { id, done: terminalOf(await subscribe(first.base, id)) };
    }),
  );
  const wallSeconds = (Math.max(...runs.map((r) => r.done.arrivedAt)) - began) / 1000;
  const audioSeconds = clips.reduce((s, c) => s + c.durationSeconds, 0);
  const jobsPerReplica = Object.fromEntries([...replicas.keys()].map((id) => [id, 0]));
  for (const run of runs) {
    const runner = runnerOf(replicas, run.id) ?? "unknown";
    jobsPerReplica[runner] = (jobsPerReplica[runner] ?? 0) + 1;
  }
  const result = { replicas: replicas.size, jobs: clips.length, audioSeconds: r2(audioSeconds), wallSeconds: r2(wallSeconds), audioSecondsPerSecond: r2(audioSeconds / wallSeconds), jobsPerReplica, loadAverageAfter: loadAverage() };
  log(`${replicas.size} replica(s): ${clips.length} jobs, ${audioSeconds.toFixed(0)} s of audio in ${wallSeconds.toFixed(1)} s; jobs per replica ${JSON.stringify(jobsPerReplica)}`);
  return result;
}

interface Latency {
  events: number;
  p50: number;
  p95: number;
  max: number;
}

/** Delays (ms) of the events emitted after each subscriber connected; replayed ones are not deliveries to time. */
function latencyOf(subs: Subscription[]): Latency {
  const delays = subs
    .flatMap((sub) => sub.arrivals.filter((a) => Date.parse(a.event.at) >= sub.connectedAt).map((a) => a.arrivedAt - Date.parse(a.event.at)))
    .sort((a, b) => a - b);
  const at = (q: number) => delays[Math.min(delays.length - 1, Math.floor(q * delays.length))] ?? NaN;
  return { events: delays.length, p50: at(0.5), p95: at(0.95), max: delays.at(-1) ?? NaN };
}

async function inMemoryLatency(clip: Recording): Promise<Latency> {
  const server = tracked(await launch(REPLICA_ENV));
  const subs: Subscription[] = [];
  for (let i = 0; i < LATENCY_JOBS; i++) {
    const { id } = await upload(server.base, clip.path, { query: `language=${clip.language}` });
    const sub = await subscribe(server.base, id);
    terminalOf(sub);
    subs.push(sub);
  }
  await stopAll();
  return latencyOf(subs);
}

interface RedisLatency {
  /** The replica that ran each job. */
  runners: string[];
  otherReplica: Latency;
  sameReplica: Latency;
}

/** Each job uploaded to the first replica and followed on every replica; the runner's own subscriber is timed too. */
async function redisLatency(replicas: Map<string, TestServer>, clip: Recording): Promise<RedisLatency> {
  const first = [...replicas.values()][0]!;
  const out = { runners: [] as string[], other: [] as Subscription[], same: [] as Subscription[] };
  for (let i = 0; i < LATENCY_JOBS; i++) {
    const { id } = await upload(first.base, clip.path, { query: `language=${clip.language}` });
    const subs = new Map(await Promise.all([...replicas].map(async ([name, s]) => [name, await subscribe(s.base, id)] as const)));
    for (const sub of subs.values()) terminalOf(sub);
    const runner = runnerOf(replicas, id);
    const other = [...subs.keys()].find((name) => name !== runner);
    if (!runner || !other) throw new Error(`job ${id}: runner ${runner}, no subscriber on another replica`);
    out.runners.push(runner);
    out.other.push(subs.get(other)!);
    out.same.push(subs.get(runner)!);
  }
  return { runners: out.runners, otherReplica: latencyOf(out.other), sameReplica: latencyOf(out.same) };
}

function throughputRows(one: Throughput, two: Throughput): void {
  const jobs = (t: Throughput) => Object.entries(t.jobsPerReplica).map(([id, n]) => `${id}: ${n}`).join(", ");
  const what = (t: Throughput) => `${t.replicas} replica${t.replicas > 1 ? "s" : ""} (jobs run: ${jobs(t)}), ${t.jobs} × ${r2(t.audioSeconds / t.jobs)} s in ${t.wallSeconds} s`;
  rows.push({ item: "throughput", what: what(one), value: `${one.audioSecondsPerSecond} audio s/s`, target: "", met: null });
  rows.push({ item: "throughput", what: what(two), value: `${two.audioSecondsPerSecond} audio s/s`, target: "", met: null });
  rows.push({ item: "throughput", what: "2 replicas / 1 replica (2 cores, 1 thread each)", value: `${r2(two.audioSecondsPerSecond / one.audioSecondsPerSecond)}x`, target: "", met: null });
}

function latencyRows(memory: Latency, redis: RedisLatency): void {
  const value = (l: Latency) => `${l.p50} / ${l.p95} / ${l.max} ms`;
  const events = (l: Latency) => `${l.events} events of ${LATENCY_JOBS} job${LATENCY_JOBS > 1 ? "s" : ""}`;
  rows.push({ item: "event latency", what: `in memory (${events(memory)}): p50 / p95 / max`, value: value(memory), target: "", met: null });
  rows.push({ item: "event latency", what: `Redis, subscriber on another replica than the runner (${events(redis.otherReplica)})`, value: value(redis.otherReplica), target: "", met: null });
  rows.push({ item: "event latency", what: `Redis, subscriber on the runner (${events(redis.sameReplica)})`, value: value(redis.sameReplica), target: "", met: null });
  const diff = (k: "p50" | "p95" | "max") => redis.otherReplica[k] - memory[k];
  rows.push({ item: "event latency", what: "Redis (other replica) − in memory: p50 / p95 / max", value: `${diff("p50")} / ${diff("p95")} / ${diff("max")} ms`, target: "", met: null });
}

async function main(): Promise<void> {
  const began = Date.now();
  const clips = JOB_FILES.map(recording);
  const latencyClip = recording(LATENCY_FILE);
  results.machine = { cpus: os.availableParallelism(), cpuModel: os.cpus()[0]?.model, node: process.version, loadAverageAtStart: loadAverage() };
  results.quick = quick;
  results.settings = { perReplica: REPLICA_ENV, jobs: JOB_FILES, latencyFile: LATENCY_FILE, uploadsTo: "r1" };
  results.note = "Shared 2-core machine with other work running; compare within this run, not absolute seconds across runs.";
  log(`${quick ? "quick" : "full"} run; load average ${loadAverage().join(" ")}`);

  const redis = await startRedis();
  running.push(redis);
  const spoolDir = mkdtempSync(path.join(os.tmpdir(), "whisperrr-scale-spool-"));
  running.push({ stop: async () => rmSync(spoolDir, { recursive: true, force: true }) });
  const prefix = `bench${process.pid}`;

  const one = await throughput(await startReplicas(["r1"], redis, spoolDir, `${prefix}-one`), clips);
  await running.pop()!.stop();
  const pair = await startReplicas(["r1", "r2"], redis, spoolDir, `${prefix}-two`);
  const two = await throughput(pair, clips);
  const viaRedis = await redisLatency(pair, latencyClip);
  log(`Redis: jobs ran on ${viaRedis.runners.join(", ")}; other replica p50 ${viaRedis.otherReplica.p50} ms, p95 ${viaRedis.otherReplica.p95} ms`);
  await stopAll();
  const memory = await inMemoryLatency(latencyClip);
  log(`in memory: p50 ${memory.p50} ms, p95 ${memory.p95} ms`);

  results.throughput = { oneReplica: one, twoReplicas: two, ratio: r2(two.audioSecondsPerSecond / one.audioSecondsPerSecond) };
  results.eventLatencyMs = { file: latencyClip.file, jobsPerMode: LATENCY_JOBS, inMemory: memory, redis: viaRedis };
  results.loadAverageAtEnd = loadAverage();
  results.runSeconds = Math.round((Date.now() - began) / 1000);
  throughputRows(one, two);
  latencyRows(memory, viaRedis);
  results.table = rows;
  writeJson(OUT_FILE, results);
  printTable(rows);
  const load = results.machine as { loadAverageAtStart: number[] };
  console.log(`\n${quick ? "quick" : "full"} run, ${results.runSeconds} s; load average (1/5/15 min) at start ${load.loadAverageAtStart.join(" ")}, at end ${loadAverage().join(" ")}; results in ${path.relative(process.cwd(), OUT_FILE)}`);
}

try {
  await main();
} finally {
  await stopAll();
}
