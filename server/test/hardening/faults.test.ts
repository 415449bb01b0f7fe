import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import WebSocket from "ws";
import type { JobSnapshot } from "@whisperrr/shared";
import { recording } from "../support/audio.ts";
import { readSse, uploadRaw } from "../support/client.ts";
import { startTestServer, waitFor, type TestServer } from "../support/server.ts";
import { wordErrorRate } from "../support/wer.ts";
import { childProcesses, fdCount, terminalEvent } from "./raw.ts";

/** Faults: clients and decoders that die or stall, subscribers that stop reading, a broken model. */

const scratch = mkdtempSync(path.join(tmpdir(), "whisperrr-faults-"));
/** ~2 minutes of speech as 16 kHz WAV (3.8 MB): long enough to still be uploading when the fault hits. */
const longWav = path.join(scratch, "long.wav");
execFileSync("ffmpeg", ["-v", "error", "-i", recording("librivox_simplicissimus_de.mp3").path, "-i", recording("librivox_sonnet001_en.mp3").path,
  "-filter_complex", "[0:a][1:a]concat=n=2:v=0:a=1", "-ac", "1", "-ar", "16000", longWav]);
const longBody = readFileSync(longWav);
const short = recording("librispeech_1221-135766-0002.wav");

let server: TestServer;
let pid: number;

test.before(async () => {
  server = await startTestServer({ POOL_SIZE: "1", DECODE_TIMEOUT_SECONDS: "3", RATE_LIMIT_PER_MINUTE: "0" });
  pid = server.child.pid!;
  await assertPoolWorks(); // warm up, so the baseline includes whatever the first job opens for good
});
test.after(async () => {
  await server.stop();
});

const snapshot = async (id: string) => (await (await fetch(`${server.base}/api/jobs/${id}`)).json()) as JobSnapshot;
const ffmpegChildren = () => childProcesses(pid).filter((l) => l.endsWith("ffmpeg"));

/** The model context was returned: a new job gets it and transcribes correctly. */
async function assertPoolWorks(): Promise<void> {
  const up = await uploadRaw(server.base, short.path);
  assert.is(up.status, 202);
  const end = await terminalEvent(server.base, up.body.id);
  assert.is(end.type, "completed", JSON.stringify(end));
  const score = wordErrorRate(short.transcript, end.type === "completed" ? end.text : "");
  assert.ok(score.errors <= 3, `${score.errors} word errors`);
}

/** Starts a raw upload that sends only `sentBytes` of the long WAV and waits until its job exists. */
async function partialUpload(sentBytes: number): Promise<{ socket: net.Socket; jobId: string }> {
  const before = new Set(server.logs.filter((l) => l.msg === "job created").map((l) => l.jobId));
  const socket = net.connect(server.port, "127.0.0.1");
  socket.on("error", () => undefined);
  socket.write(`POST /api/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: audio/wav\r\nContent-Length: ${longBody.length}\r\n\r\n`);
  socket.write(longBody.subarray(0, sentBytes));
  let jobId = "";
  await waitFor(() => {
    const created = server.logs.find((l) => l.msg === "job created" && !before.has(l.jobId));
    jobId = String(created?.jobId ?? "");
    return jobId !== "";
  }, 30_000, "job created");
  await waitFor(() => ffmpegChildren().length === 1, 10_000, "its ffmpeg");
  return { socket, jobId };
}

test("client disconnects mid-upload: upload_aborted, ffmpeg killed, fds and children back to baseline", async () => {
  await waitFor(() => ffmpegChildren().length === 0, 10_000, "no decoder running");
  const baselineFds = fdCount(pid);
  const { socket, jobId } = await partialUpload(500_000);
  assert.ok(fdCount(pid) > baselineFds, "the upload holds descriptors (socket, pipes, spool)");
  socket.destroy();
  await waitFor(async () => (await snapshot(jobId)).status === "failed", 10_000, "job failed");
  assert.is((await snapshot(jobId)).error?.code, "upload_aborted");
  await waitFor(() => ffmpegChildren().length === 0, 10_000, "ffmpeg killed");
  await waitFor(() => fdCount(pid) <= baselineFds, 10_000, `fds back to ${baselineFds} (now ${fdCount(pid)})`);
  await assertPoolWorks();
});

test("ffmpeg killed mid-job: decode_failed at once, context returned", async () => {
  const { socket, jobId } = await partialUpload(500_000);
  const [ffmpegPid] = ffmpegChildren()[0]!.split(/\s+/);
  process.kill(Number(ffmpegPid), "SIGKILL");
  await waitFor(async () => (await snapshot(jobId)).status === "failed", 10_000, "job failed");
  const failed = await snapshot(jobId);
  assert.is(failed.error?.code, "decode_failed");
  assert.match(failed.error!.message, /ffmpeg/);
  socket.destroy();
  await assertPoolWorks();
});

test("ffmpeg hangs mid-job: the watchdog fails it with decode_timeout and kills it", async () => {
  const { socket, jobId } = await partialUpload(200_000);
  const [ffmpegPid] = ffmpegChildren()[0]!.split(/\s+/);
  process.kill(Number(ffmpegPid), "SIGSTOP");
  socket.write(longBody.subarray(200_000)); // the rest arrives, but ffmpeg reads nothing: backpressure, then silence
  await waitFor(async () => (await snapshot(jobId)).status === "failed", 30_000, "job failed by the watchdog");
  assert.is((await snapshot(jobId)).error?.code, "decode_timeout");
  await waitFor(() => ffmpegChildren().length === 0, 10_000, "stopped ffmpeg killed");
  socket.destroy();
  await assertPoolWorks();
});

const rssMb = () => Math.round(Number(readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+)/m)![1]) / 1024);

test("a subscriber that stops reading is disconnected; the job and other subscribers are unaffected", async () => {
  const up = await uploadRaw(server.base, recording("jfk_inaugural_16k.wav").path);
  const reader = readSse(server.base, up.body.id);
  const rssBefore = rssMb();
  const slow = new WebSocket(`${server.base.replace("http", "ws")}/ws`);
  await new Promise((r) => slow.once("open", r));
  const socket = (slow as unknown as { _socket: net.Socket })._socket;
  socket.pause(); // stops reading: every answer piles up on the server
  let closed: number | null = null;
  slow.on("close", (code) => (closed = code));
  const flood = Array.from({ length: 100_000 }, () => JSON.stringify({ type: "subscribe", jobId: randomUUID() }));
  for (const m of flood) slow.send(m);
  let received = 0;
  slow.on("message", () => received++);
  await new Promise((r) => setTimeout(r, 3000));
  socket.resume();
  await waitFor(() => closed !== null, 60_000, "slow socket closed by the server");
  assert.ok(received < flood.length, `disconnected before all ${flood.length} answers (got ${received})`);
  const { events } = await reader;
  assert.is(events.at(-1)?.type, "completed", "the job and its other subscriber carry on");
  const rssAfter = rssMb();
  console.log(`  slow subscriber: server RSS ${rssBefore} MB before, ${rssAfter} MB after, ${received} answers delivered, close ${closed}`);
  assert.ok(rssAfter < rssBefore + 128, `memory stays bounded (${rssBefore} -> ${rssAfter} MB)`);
});

test("model corrupt or missing at startup: stays up, /readyz 503 with the reason, the log says what to do", async () => {
  const corrupt = path.join(scratch, "ggml-corrupt.bin");
  writeFileSync(corrupt, Buffer.alloc(1 << 16, 0x5a));
  for (const model of [corrupt, path.join(scratch, "ggml-missing.bin")]) {
    const broken = await startTestServer({ MODEL: model }, false);
    try {
      await waitFor(() => broken.logs.some((l) => String(l.msg).startsWith("not ready")), 20_000, "load failure logged");
      const line = broken.logs.find((l) => String(l.msg).startsWith("not ready"))!;
      assert.match(String(line.msg), /To fix: fix MODEL \/ MODEL_DIR/);
      await new Promise((r) => setTimeout(r, 2000));
      assert.is(broken.child.exitCode, null, "no exit, so no crash loop");
      const ready = await fetch(`${broken.base}/readyz`);
      assert.is(ready.status, 503);
      assert.match(((await ready.json()) as { reason: string }).reason, /not a whisper\.cpp ggml model|does not exist/);
      assert.is((await fetch(`${broken.base}/healthz`)).status, 200);
    } finally {
      assert.is(await broken.stop(), 0);
    }
  }
});

test.run();
