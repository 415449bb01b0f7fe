import { createReadStream, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import os from "node:os";
import path from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import OpenAI from "openai";
import type { JobEvent, JobSnapshot, SegmentEvent } from "@whisperrr/shared";
import { assertCompletedFlow } from "../support/assertions.ts";
import { recording } from "../support/audio.ts";
import { readSse, readWs, uploadMultipart, uploadRaw } from "../support/client.ts";
import { startRedis, type TestRedis } from "../support/redis.ts";
import { startTestServer, waitFor, type TestServer } from "../support/server.ts";
import { wordErrorRate } from "../support/wer.ts";

/**
 * Three real server processes against one real redis-server, sharing a spool directory, as the
 * compose `scale` profile runs them. Windows of 15 s give a 53 s recording several checkpoints,
 * and a 3 s lease makes a dead replica's job move within seconds.
 */
const test = suite("replicas");
let redis: TestRedis;
let spoolDir: string;
let replicas: TestServer[] = [];

const SONNET = recording("librivox_sonnet001_en.mp3");
/** Word errors allowed on the sonnet: as in jobs.test.ts. */
const SONNET_MAX_ERRORS = 20;

async function startReplica(name: string): Promise<TestServer> {
  return startTestServer({
    REDIS_URL: redis.url,
    REPLICA_ID: name,
    SPOOL_DIR: spoolDir,
    POOL_SIZE: "1",
    THREADS: "1",
    WINDOW_SECONDS: "15",
    REDIS_LEASE_SECONDS: "3",
    SHUTDOWN_GRACE_SECONDS: "0",
    REDIS_PREFIX: `test${process.pid}`,
  });
}

test.before(async () => {
  redis = await startRedis();
  spoolDir = mkdtempSync(path.join(os.tmpdir(), "whisperrr-shared-spool-"));
  replicas = await Promise.all(["a", "b", "c"].map(startReplica));
});

test.after(async () => {
  await Promise.all(replicas.map((r) => r.stop("SIGKILL")));
  await redis.stop();
  rmSync(spoolDir, { recursive: true, force: true });
});

const textOf = (events: JobEvent[]) => {
  const last = events.at(-1);
  return last?.type === "completed" ? last.text : "";
};

/** The replica whose log says it took (or resumed) the job, last. */
function runnerOf(jobId: string): TestServer | undefined {
  return replicas.filter((r) => r.logs.some((l) => l.jobId === jobId && (l.msg === "job taken" || l.msg === "job resumed"))).at(-1);
}

test("upload to A; status, SSE with Last-Event-ID resume and WebSocket on B and C; transcript from C", async () => {
  const [a, b, c] = replicas as [TestServer, TestServer, TestServer];
  const file = recording("jfk_inaugural_16k.wav");
  const up = await uploadRaw(a.base, file.path);
  assert.is(up.status, 202);
  const id = up.body.id;
  const onB = (await (await fetch(`${b.base}/api/jobs/${id}`)).json()) as JobSnapshot;
  assert.is(onB.id, id, "B knows the job A accepted");
  const first = await readSse(b.base, id, { stopAfter: 2 });
  const rest = await readSse(c.base, id, { lastEventId: first.ids.at(-1)! });
  assert.is(rest.ids[0], first.ids.at(-1)! + 1, "resumed on another replica right after the last event seen");
  const events = [...first.events, ...rest.events];
  assertCompletedFlow(events);
  const stages = events.flatMap((e) => (e.type === "progress" ? [e.stage] : []));
  assert.is(stages.at(-1), "transcribe", `progress moves on from the upload stage on the replica running it: ${stages.join(",")}`);
  const score = wordErrorRate(file.transcript, textOf(events));
  assert.is(score.errors, 0, `JFK: ${score.errors} word errors: ${textOf(events)}`);
  const ws = await readWs(c.base, id);
  assert.equal(ws.events.map((e) => e.seq), events.map((e) => e.seq), "WebSocket on C replays the same events");
  const txt = await fetch(`${c.base}/api/jobs/${id}/transcript?format=txt`);
  assert.is(txt.status, 200);
  assert.is(txt.headers.get("x-job-status"), "completed");
  assert.match(await txt.text(), /ask not what your country can do for you/i);
  const snapshot = (await (await fetch(`${a.base}/api/jobs/${id}`)).json()) as JobSnapshot;
  assert.is(snapshot.status, "completed");
  assert.is(snapshot.lastSeq, events.length);
  assert.is(snapshot.result?.text, textOf(events));
  assert.ok(runnerOf(id), "one replica says it ran the job");
});

test("unknown ids are 404 on every replica; cancel from another replica stops the job where it runs", async () => {
  for (const r of replicas) assert.is((await fetch(`${r.base}/api/jobs/00000000-0000-4000-8000-000000000000`)).status, 404);
  const up = await uploadMultipart(replicas[0]!.base, SONNET.path, { language: "en" });
  const id = up.body.id;
  await waitFor(() => runnerOf(id) !== undefined, 60_000, "a replica to take the job");
  const runner = runnerOf(id)!;
  const other = replicas.find((r) => r !== runner)!;
  const events = readSse(other.base, id);
  await waitFor(async () => ((await (await fetch(`${other.base}/api/jobs/${id}`)).json()) as JobSnapshot).segments.length > 0, 120_000, "a first segment");
  const del = await fetch(`${other.base}/api/jobs/${id}`, { method: "DELETE" });
  assert.is(del.status, 200);
  assert.is(((await del.json()) as JobSnapshot).status, "cancelled");
  const { events: seen } = await events;
  assert.is(seen.at(-1)!.type, "cancelled", "subscribers on any replica see the cancel");
  await waitFor(() => runner.logs.some((l) => l.jobId === id && l.msg === "job cancelled" && l.stage === "done"), 60_000, "the running replica to stop the job");
  assert.is((await fetch(`${runner.base}/api/jobs/${id}`, { method: "DELETE" })).status, 409, "a second cancel is refused");
  await waitFor(() => !readdirSync(spoolDir).some((f) => f.startsWith(id)), 30_000, "the job's audio to leave the shared spool");
});

test("SIGKILL of the replica running a job: another replica resumes it, every segment reaches a surviving subscriber exactly once", async () => {
  const up = await uploadRaw(replicas[1]!.base, SONNET.path, "language=en");
  const id = up.body.id;
  await waitFor(() => runnerOf(id) !== undefined, 60_000, "a replica to take the job");
  const victim = runnerOf(id)!;
  const survivors = replicas.filter((r) => r !== victim);
  const watching = readSse(survivors[0]!.base, id);
  await waitFor(async () => ((await (await fetch(`${survivors[0]!.base}/api/jobs/${id}`)).json()) as JobSnapshot).segments.length >= 2, 120_000, "two segments");
  await victim.stop("SIGKILL");
  replicas = survivors;
  const { events } = await watching;
  const types = events.map((e) => e.type);
  assert.ok(types.includes("retrying"), `a retrying event: ${types.join(",")}`);
  const retrying = events.find((e) => e.type === "retrying")!;
  assert.ok(retrying.type === "retrying" && retrying.attempt === 2);
  assert.ok(types.indexOf("started", types.indexOf("retrying")) > 0, "the normal flow follows the retry");
  const segments = assertCompletedFlow(events);
  assert.equal(segments.map((s: SegmentEvent) => s.index), [...segments.keys()], "each segment once, in order");
  const score = wordErrorRate(SONNET.transcript, textOf(events));
  assert.ok(score.errors <= SONNET_MAX_ERRORS, `sonnet after a retry: ${score.errors}/${score.words} word errors: ${textOf(events)}`);
  const resumer = runnerOf(id)!;
  assert.ok(resumer !== victim && survivors.includes(resumer), "a survivor finished it");
  replicas.push(await startReplica("d"));
});

test("SIGTERM mid-job: the replica hands the job back at once and a survivor finishes it, each segment once", async () => {
  const up = await uploadRaw(replicas[0]!.base, SONNET.path, "language=en");
  const id = up.body.id;
  await waitFor(() => runnerOf(id) !== undefined, 60_000, "a replica to take the job");
  const leaving = runnerOf(id)!;
  const survivors = replicas.filter((r) => r !== leaving);
  const watching = readSse(survivors[0]!.base, id);
  await waitFor(async () => ((await (await fetch(`${survivors[0]!.base}/api/jobs/${id}`)).json()) as JobSnapshot).segments.length >= 1, 120_000, "a segment");
  assert.is(await leaving.stop("SIGTERM"), 0, "a clean exit");
  replicas = survivors;
  const { events } = await watching;
  const retrying = events.find((e) => e.type === "retrying");
  assert.ok(retrying?.type === "retrying" && /shut down/.test(retrying.reason), `handed back with its reason: ${JSON.stringify(retrying)}`);
  const segments = assertCompletedFlow(events);
  assert.equal(segments.map((s: SegmentEvent) => s.index), [...segments.keys()]);
  const score = wordErrorRate(SONNET.transcript, textOf(events));
  assert.ok(score.errors <= SONNET_MAX_ERRORS, `sonnet after a hand-back: ${score.errors}/${score.words} word errors`);
  replicas.push(await startReplica("e"));
});

/** Sends `file` as a raw body, `chunk` bytes every 200 ms; resolves with the job id once the server has logged it. */
function slowUpload(target: TestServer, file: string, chunk: number): Promise<string> {
  const body = readFileSync(file);
  const req = request(`${target.base}/api/jobs?language=en`, { method: "POST", headers: { "Content-Length": String(body.length) } });
  req.on("error", () => undefined);
  let sent = 0;
  const timer = setInterval(() => {
    if (req.destroyed || sent >= body.length) return clearInterval(timer);
    req.write(body.subarray(sent, (sent += chunk)));
  }, 200);
  const before = new Set(target.logs.map((l) => l.jobId));
  return new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      const created = target.logs.find((l) => l.msg === "job created" && !before.has(l.jobId));
      if (created) {
        clearInterval(poll);
        resolve(created.jobId as string);
      }
    }, 100);
    setTimeout(() => (clearInterval(poll), reject(new Error("no job created"))), 60_000);
  });
}

test("the replica receiving an upload dies mid-upload: the job fails with upload_aborted and its files leave the shared spool", async () => {
  const uploader = replicas[0]!;
  const id = await slowUpload(uploader, SONNET.path, 16_384);
  const other = replicas.find((r) => r !== uploader)!;
  const watching = readSse(other.base, id);
  await waitFor(() => readdirSync(spoolDir).some((f) => f === `${id}.upload`), 30_000, "the upload copy in the shared spool");
  await uploader.stop("SIGKILL");
  replicas = replicas.filter((r) => r !== uploader);
  const { events } = await watching;
  const last = events.at(-1)!;
  assert.ok(last.type === "failed" && last.code === "upload_aborted", `ends with upload_aborted: ${JSON.stringify(last)}`);
  await waitFor(() => !readdirSync(spoolDir).some((f) => f.startsWith(id)), 30_000, "no file of the job left in the shared spool");
  replicas.push(await startReplica("f"));
});

test("the OpenAI-compatible route answers on any replica, wherever the job runs", async () => {
  for (const replica of replicas.slice(0, 2)) {
    const client = new OpenAI({ baseURL: `${replica.base}/v1`, apiKey: "unused", maxRetries: 0, timeout: 300_000 });
    const file = recording("jfk_inaugural_16k.wav");
    const result = await client.audio.transcriptions.create({ file: createReadStream(file.path), model: "whisper-1", language: "en" });
    const score = wordErrorRate(file.transcript, result.text);
    assert.is(score.errors, 0, `${replica.base}: ${result.text}`);
  }
});

test("without Redis a replica is not ready and refuses uploads with 503; it recovers when Redis is back", async () => {
  const replica = replicas[0]!;
  const readiness = async () => (await fetch(`${replica.base}/readyz`)).json() as Promise<{ ready: boolean; reason: string | null }>;
  assert.is((await readiness()).ready, true);
  await redis.stop();
  await waitFor(async () => !(await readiness()).ready, 15_000, "not ready without Redis");
  assert.match((await readiness()).reason ?? "", /Redis/);
  // A small body: the refusal comes before the body is read, and the connection is closed after it.
  const refused = await fetch(`${replica.base}/api/jobs`, { method: "POST", body: Buffer.alloc(64) });
  assert.is(refused.status, 503);
  assert.is(((await refused.json()) as { error: { code: string } }).error.code, "not_ready");
  assert.is((await fetch(`${replica.base}/healthz`)).status, 200, "the process itself stays up");
  redis = await startRedis(redis.port);
  await waitFor(async () => (await readiness()).ready, 30_000, "ready again once Redis is back");
});

test.run();
