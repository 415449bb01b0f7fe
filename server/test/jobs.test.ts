import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import WebSocket from "ws";
import type { JobEvent, JobSnapshot } from "@whisperrr/shared";
import { assertCompletedFlow } from "./support/assertions.ts";
import { recording } from "./support/audio.ts";
import { readSse, readWs, uploadMultipart, uploadRaw } from "./support/client.ts";
import { startTestServer, waitFor, type TestServer } from "./support/server.ts";
import { wordErrorRate } from "./support/wer.ts";

let server: TestServer;
const scratch = mkdtempSync(path.join(tmpdir(), "whisperrr-test-"));

test.before(async () => {
  server = await startTestServer({ MAX_UPLOAD_MB: "2" });
});
test.after(async () => {
  await server.stop();
});

function transcriptOf(events: JobEvent[]): string {
  const last = events.at(-1);
  return last?.type === "completed" ? last.text : "";
}

/** Errors allowed per file: what whisper.cpp's CLI gets with this model, plus a small margin. */
function assertAccurate(file: string, text: string, maxErrors: number) {
  const score = wordErrorRate(recording(file).transcript, text);
  assert.ok(score.errors <= maxErrors, `${file}: ${score.errors}/${score.words} word errors (max ${maxErrors}): "${text}"`);
}

test("WAV over SSE: ordered events, 0 word errors on JFK, transcript formats", async () => {
  const file = recording("jfk_inaugural_16k.wav");
  const up = await uploadRaw(server.base, file.path);
  assert.is(up.status, 202);
  assert.match(up.body.id, /^[0-9a-f-]{36}$/);
  const { events, ids, status } = await readSse(server.base, up.body.id);
  assert.is(status, 200);
  assert.equal(ids, events.map((e) => e.seq), "SSE id is the sequence number");
  assertCompletedFlow(events);
  assertAccurate(file.file, transcriptOf(events), 0);
  const done = events.at(-1)!;
  assert.ok(done.type === "completed" && done.language === "en" && Math.abs(done.durationSeconds - 11) < 0.1);

  const srt = await fetch(`${server.base}/api/jobs/${up.body.id}/transcript?format=srt`);
  assert.match(srt.headers.get("content-type")!, /application\/x-subrip/);
  assert.match(await srt.text(), /^1\n00:00:00,000 --> 00:00:1\d,\d{3}\nAnd so/);
  const vtt = await (await fetch(`${server.base}/api/jobs/${up.body.id}/transcript?format=vtt`)).text();
  assert.match(vtt, /^WEBVTT\n\n00:00:00\.000 --> /);
  const snapshot = (await (await fetch(`${server.base}/api/jobs/${up.body.id}`)).json()) as JobSnapshot;
  assert.is(snapshot.status, "completed");
  assert.is(snapshot.lastSeq, events.length);
  assert.is(snapshot.result?.text, transcriptOf(events));
});

test("Last-Event-ID resume gets only the missed events, no duplicates", async () => {
  const up = await uploadRaw(server.base, recording("librispeech_1089-134686-0001.wav").path);
  const first = await readSse(server.base, up.body.id, { stopAfter: 2 });
  const rest = await readSse(server.base, up.body.id, { lastEventId: first.ids.at(-1)! });
  assert.is(rest.ids[0], first.ids.at(-1)! + 1, "resumes right after the last seen event");
  const all = [...first.events, ...rest.events];
  assertCompletedFlow(all);
  assertAccurate("librispeech_1089-134686-0001.wav", transcriptOf(all), 0);
  const replay = await readSse(server.base, up.body.id, { lastEventId: all.length });
  assert.is(replay.events.length, 0, "nothing after the terminal event");
});

test("FLAC (44.1 kHz stereo) as raw body over WebSocket", async () => {
  const up = await uploadRaw(server.base, recording("jfk_inaugural_44k_stereo.flac").path, "language=en");
  const { events, messages } = await readWs(server.base, up.body.id);
  assert.is(messages[0]!.type, "subscribed");
  assertCompletedFlow(events);
  assertAccurate("jfk_inaugural_44k_stereo.flac", transcriptOf(events), 0);
});

test("MP3 as multipart over WebSocket, resumed with since", async () => {
  const file = recording("librivox_sonnet001_en.mp3");
  const up = await uploadMultipart(server.base, file.path, { language: "en", task: "transcribe" });
  assert.is(up.status, 202);
  const { events } = await readWs(server.base, up.body.id);
  const segments = assertCompletedFlow(events);
  assert.ok(segments.length >= 3, "a 53 s recording comes back in several segments");
  assertAccurate(file.file, transcriptOf(events), 20);
  const resumed = await readWs(server.base, up.body.id, 3);
  assert.equal(resumed.events.map((e) => e.seq), events.slice(3).map((e) => e.seq));
});

test("MP4 video container (index at the end) is decoded", async () => {
  const file = recording("librivox_sonnet001_head.mp4");
  const up = await uploadRaw(server.base, file.path);
  const { events } = await readSse(server.base, up.body.id);
  assertCompletedFlow(events);
  assertAccurate(file.file, transcriptOf(events), 2);
});

test("German with language=auto is detected and transcribed, not translated", async () => {
  const file = recording("librivox_simplicissimus_de.mp3");
  const up = await uploadRaw(server.base, file.path, "language=auto");
  const { events } = await readSse(server.base, up.body.id);
  assertCompletedFlow(events);
  const done = events.at(-1)!;
  assert.ok(done.type === "completed" && done.language === "de", `detected ${JSON.stringify(done)}`);
  assertAccurate(file.file, transcriptOf(events), 30);
});

test("silence completes with empty text, not a failure", async () => {
  const silence = path.join(scratch, "silence.wav");
  execFileSync("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "5", silence]);
  const up = await uploadRaw(server.base, silence);
  const { events } = await readSse(server.base, up.body.id);
  const done = events.at(-1)!;
  assert.is(done.type, "completed");
  assert.is(transcriptOf(events), "");
});

test("non-audio upload fails with decode_failed and ffmpeg's reason", async () => {
  const text = path.join(scratch, "notes.txt");
  writeFileSync(text, "this is not audio\n".repeat(100));
  const up = await uploadRaw(server.base, text);
  const events = up.status === 202 ? (await readSse(server.base, up.body.id)).events : [];
  const code = up.status === 202 ? (events.at(-1) as { code?: string }).code : up.body.error?.code;
  assert.is(code, "decode_failed");
  const message = up.status === 202 ? (events.at(-1) as { message: string }).message : up.body.error!.message;
  assert.match(message, /ffmpeg could not decode/);
  assert.ok(message.length < 400);
});

test("unknown job is a JSON 404; malformed id a 400", async () => {
  const res = await fetch(`${server.base}/api/jobs/6f1c1e8e-1111-4222-8333-444455556666`);
  assert.is(res.status, 404);
  assert.is(((await res.json()) as { error: { code: string } }).error.code, "not_found");
  const sse = await fetch(`${server.base}/api/jobs/6f1c1e8e-1111-4222-8333-444455556666/events`);
  assert.is(sse.status, 404);
  const bad = await fetch(`${server.base}/api/jobs/..%2Fetc`);
  assert.is(bad.status, 400);
  assert.is(((await bad.json()) as { error: { code: string } }).error.code, "invalid_job_id");
});

test("413 when Content-Length exceeds MAX_UPLOAD_MB, and when a chunked body grows past it", async () => {
  const big = path.join(scratch, "big.bin");
  writeFileSync(big, Buffer.alloc(3 * 1024 * 1024, 1));
  const declared = await uploadRaw(server.base, big);
  assert.is(declared.status, 413);
  assert.is(declared.body.error?.code, "upload_too_large");
  const chunks = async function* () {
    for (let i = 0; i < 6; i++) yield Buffer.alloc(512 * 1024, 7);
  };
  const res = await fetch(`${server.base}/api/jobs`, { method: "POST", body: Readable.toWeb(Readable.from(chunks())), duplex: "half" } as RequestInit);
  assert.is(res.status, 413);
});

test("unknown language or task is a 400 with a stable code", async () => {
  const file = recording("fsdd_7_george_0_8k.wav").path;
  for (const query of ["language=klingon", "task=summarise"]) {
    const up = await uploadRaw(server.base, file, query);
    assert.is(up.status, 400);
    assert.is(up.body.error?.code, "invalid_option");
  }
});

test("WebSocket: bad requests get an error without closing other subscriptions", async () => {
  const up = await uploadRaw(server.base, recording("librispeech_1221-135766-0002.wav").path);
  const ws = new WebSocket(`${server.base.replace("http", "ws")}/ws`);
  const messages: { type: string; code?: string }[] = [];
  ws.on("message", (d) => messages.push(JSON.parse(d.toString())));
  await new Promise((r) => ws.on("open", r));
  ws.send(JSON.stringify({ type: "subscribe", jobId: up.body.id }));
  ws.send("not json");
  ws.send(JSON.stringify({ type: "subscribe", jobId: "6f1c1e8e-1111-4222-8333-444455556666" }));
  ws.send(JSON.stringify({ type: "dance" }));
  await waitFor(() => messages.some((m) => m.type === "completed"), 30_000, "job completes on the same socket");
  const errors = messages.filter((m) => m.type === "error").map((m) => m.code);
  assert.equal(errors, ["bad_request", "not_found", "bad_request"]);
  ws.close();
});

test.run();
