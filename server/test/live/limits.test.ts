import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { LIVE_CLOSE, LIVE_PATH, type JobEvent, type LiveServerMessage } from "@whisperrr/shared";
import { recording } from "../support/audio.ts";
import { readSse, uploadRaw } from "../support/client.ts";
import { startTestServer, type TestServer } from "../support/server.ts";
import { wordErrorRate } from "../support/wer.ts";
import { pcmOf, streamLive, textOf } from "./stream.ts";

let server: TestServer;
const scratch = mkdtempSync(path.join(tmpdir(), "whisperrr-live-"));
const JFK = recording("jfk_inaugural_16k.wav");

test.before(async () => {
  server = await startTestServer({ MAX_LIVE_SESSIONS: "1", LIVE_IDLE_TIMEOUT_SECONDS: "2", VAD_FILE_JOBS: "true" });
});
test.after(async () => {
  await server.stop();
});

/** A raw socket on /ws/live that records messages and the close. */
function open(): Promise<{ ws: WebSocket; messages: LiveServerMessage[]; closed: Promise<{ code: number; reason: string }> }> {
  const ws = new WebSocket(server.base.replace(/^http/, "ws") + LIVE_PATH);
  const messages: LiveServerMessage[] = [];
  ws.on("message", (d) => messages.push(JSON.parse(String(d)) as LiveServerMessage));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: String(reason) })));
  return new Promise((resolve, reject) => {
    ws.on("open", () => resolve({ ws, messages, closed }));
    ws.on("error", reject);
  });
}

const until = async (check: () => boolean, what: string, ms = 30_000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

test("bad messages get stable error codes; audio before start closes with 1008", async () => {
  const s = await open();
  s.ws.send("not json");
  s.ws.send(JSON.stringify({ type: "start", format: "mp3" }));
  s.ws.send(JSON.stringify({ type: "start", format: "s16le", language: "xx" }));
  await until(() => s.messages.length === 3, "three errors");
  assert.equal(s.messages.map((m) => m.type === "error" && m.code), ["bad_request", "bad_request", "invalid_option"], JSON.stringify(s.messages));
  assert.match(JSON.stringify(s.messages[1]), /format must be one of: s16le, f32le, webm/);
  s.ws.send(Buffer.alloc(320));
  const closed = await s.closed;
  assert.is(closed.code, LIVE_CLOSE.protocolError);
  assert.is(s.messages.length, 4);
});

test("MAX_LIVE_SESSIONS: the next session gets live_sessions_full and is closed with a reason", async () => {
  const first = await open();
  first.ws.send(JSON.stringify({ type: "start", format: "s16le" }));
  await until(() => first.messages.some((m) => m.type === "ready"), "ready");
  const second = await open();
  second.ws.send(JSON.stringify({ type: "start", format: "s16le" }));
  const closed = await second.closed;
  assert.is(closed.code, LIVE_CLOSE.tryAgainLater);
  assert.is(closed.reason, "live_sessions_full");
  assert.is(second.messages[0]?.type === "error" && second.messages[0].code, "live_sessions_full");
  first.ws.send(JSON.stringify({ type: "stop" }));
  assert.is((await first.closed).code, 1000);
  assert.is(first.messages.at(-1)?.type, "ended");
});

test("a stalled sender is ended with idle_timeout", async () => {
  const run = await streamLive(server.base, pcmOf(JFK.path), { stallAfterMs: 1000 });
  assert.is(run.closeCode, LIVE_CLOSE.idleTimeout);
  const last = run.received.at(-1)!.message;
  assert.ok(last.type === "error" && last.code === "idle_timeout", JSON.stringify(last));
});

test("a sender far faster than real time fills the bounded buffer and is closed with live_overflow", async () => {
  const run = await streamLive(server.base, pcmOf(recording("librivox_sonnet001_en.mp3").path), { pace: 0 });
  assert.is(run.closeCode, LIVE_CLOSE.overflow);
  const last = run.received.at(-1)!.message;
  assert.ok(last.type === "error" && last.code === "live_overflow", JSON.stringify(last));
});

test("f32le frames and webm/opus (decoded by a streaming ffmpeg) give the recording's words", async () => {
  const pcm = pcmOf(JFK.path);
  const floats = Buffer.alloc(pcm.length * 2);
  for (let i = 0; i < pcm.length / 2; i++) floats.writeFloatLE(pcm.readInt16LE(i * 2) / 32768, i * 4);
  const f32 = await streamLive(server.base, pcm, { start: { format: "f32le" }, bytes: floats });
  const webmFile = path.join(scratch, "jfk.webm");
  execFileSync("ffmpeg", ["-v", "error", "-y", "-i", JFK.path, "-c:a", "libopus", "-b:a", "32k", "-f", "webm", webmFile]);
  const webm = await streamLive(server.base, pcm, { start: { format: "webm" }, bytes: execFileSync("cat", [webmFile]) });
  for (const [name, run] of [["f32le", f32], ["webm", webm]] as const) {
    assert.is(run.closeCode, 1000, `${name}: ${JSON.stringify(run.received.at(-1))}`);
    const score = wordErrorRate(JFK.transcript, textOf(run));
    assert.ok(score.errors <= 2, `${name}: ${score.errors} errors in "${textOf(run)}"`);
  }
});

test("VAD_FILE_JOBS: a file job over 30 s of noise completes with no text; speech still transcribes", async () => {
  const noise = path.join(scratch, "noise.wav");
  execFileSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "anoisesrc=r=16000:c=pink:a=0.2:d=30", noise]);
  for (const [file, expected] of [[noise, ""], [JFK.path, JFK.transcript]] as const) {
    const up = await uploadRaw(server.base, file, "language=en");
    const last = (await readSse(server.base, up.body.id)).events.at(-1) as JobEvent;
    assert.is(last.type, "completed");
    const text = last.type === "completed" ? last.text : "";
    if (expected === "") assert.is(text, "", "noise gives no text");
    else assert.ok(wordErrorRate(expected, text).errors <= 1, text);
  }
});

test.run();
