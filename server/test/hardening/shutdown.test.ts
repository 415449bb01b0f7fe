import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { WS_CLOSE_GOING_AWAY, type JobEvent, type JobSnapshot } from "@whisperrr/shared";
import { recording } from "../support/audio.ts";
import { readSse, uploadRaw } from "../support/client.ts";
import { startTestServer, waitFor, type TestServer } from "../support/server.ts";
import { wordErrorRate } from "../support/wer.ts";

/** SIGTERM/SIGINT on a real server process: drain, cancel, close sockets with 1001, exit 0. */

const scratch = mkdtempSync(path.join(tmpdir(), "whisperrr-shutdown-"));
const longWav = path.join(scratch, "long.wav");
execFileSync("ffmpeg", ["-v", "error", "-i", recording("librivox_simplicissimus_de.mp3").path, "-i", recording("librivox_sonnet001_en.mp3").path,
  "-filter_complex", "[0:a][1:a]concat=n=2:v=0:a=1", "-ac", "1", "-ar", "16000", longWav]);
const jfk = recording("jfk_inaugural_16k.wav");
const short = recording("librispeech_1221-135766-0002.wav");

const snapshot = async (s: TestServer, id: string) => (await (await fetch(`${s.base}/api/jobs/${id}`)).json()) as JobSnapshot;

/** A `/ws` socket following `jobId`: its events and how it was closed. */
function follow(s: TestServer, jobId: string): Promise<{ events: JobEvent[]; closeCode: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${s.base.replace("http", "ws")}/ws`);
    const events: JobEvent[] = [];
    ws.on("open", () => ws.send(JSON.stringify({ type: "subscribe", jobId })));
    ws.on("message", (data) => {
      const msg = JSON.parse(data.toString()) as JobEvent | { type: string };
      if ("seq" in msg) events.push(msg);
    });
    ws.on("close", (closeCode) => resolve({ events, closeCode }));
    ws.on("error", reject);
  });
}

async function runningAndQueued(s: TestServer, runningFile: string): Promise<{ running: string; queued: string }> {
  const running = (await uploadRaw(s.base, runningFile)).body.id;
  await waitFor(async () => (await snapshot(s, running)).status === "running", 30_000, "first job running");
  const queued = (await uploadRaw(s.base, short.path)).body.id;
  assert.is((await snapshot(s, queued)).status, "queued");
  return { running, queued };
}

/** Runs `scenario` against a fresh server and makes sure the process is gone afterwards, whatever happened. */
async function withServer(env: Record<string, string>, scenario: (s: TestServer) => Promise<void>): Promise<void> {
  const s = await startTestServer(env);
  try {
    await scenario(s);
  } finally {
    if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill("SIGKILL");
  }
}

test("SIGTERM: uploads get 503, the running job finishes, the queued one is cancelled, sockets get 1001, exit 0", () => withServer({ POOL_SIZE: "1", SHUTDOWN_GRACE_SECONDS: "300" }, async (s) => {
  const { running, queued } = await runningAndQueued(s, jfk.path);
  const runningSse = readSse(s.base, running);
  const queuedWs = follow(s, queued);
  const idleWs = follow(s, running);
  await waitFor(async () => (await snapshot(s, queued)).lastSeq > 0, 5000, "subscribed");
  const exit = s.stop("SIGTERM");

  await waitFor(async () => (await fetch(`${s.base}/readyz`)).status === 503, 10_000, "not ready while draining");
  const refused = await uploadRaw(s.base, short.path);
  assert.is(refused.status, 503);
  assert.is(refused.body.error?.code, "shutting_down");
  assert.ok(refused.headers.get("retry-after"));

  const done = (await runningSse).events.at(-1)!;
  assert.is(done.type, "completed", JSON.stringify(done));
  assert.ok(wordErrorRate(jfk.transcript, done.type === "completed" ? done.text : "").errors <= 1, "the running job finished correctly");
  const q = await queuedWs;
  assert.is(q.events[0]?.type, "queued");
  assert.is(q.events.at(-1)?.type, "cancelled", "its subscriber was told");
  assert.not.ok(q.events.some((e) => e.type === "started" || e.type === "segment"), "the queued job never started");
  assert.is(q.closeCode, WS_CLOSE_GOING_AWAY);
  assert.is((await idleWs).closeCode, WS_CLOSE_GOING_AWAY);
  assert.is(await exit, 0);
}));

test("SIGINT: after the grace, the still-running job is cancelled too; exit 0", () => withServer({ POOL_SIZE: "1", SHUTDOWN_GRACE_SECONDS: "2" }, async (s) => {
  const { running, queued } = await runningAndQueued(s, longWav);
  const runningSse = readSse(s.base, running);
  const queuedSse = readSse(s.base, queued);
  assert.is(await s.stop("SIGINT"), 0);
  const r = (await runningSse).events.at(-1)!;
  assert.is(r.type, "cancelled", JSON.stringify(r));
  assert.match(r.type === "cancelled" ? r.reason : "", /shut down/);
  assert.is((await queuedSse).events.at(-1)?.type, "cancelled");
}));

test.run();
