import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import path from "node:path";
import { ERROR_CODES } from "@whisperrr/shared";
import { recording } from "../support/audio.ts";
import { uploadMultipart } from "../support/client.ts";
import { startTestServer, waitFor, type TestServer } from "../support/server.ts";
import { wordErrorRate } from "../support/wer.ts";
import { multipart, rawRequest, terminalEvent, wsExchange, type RawRequest } from "./raw.ts";

/**
 * The bad-input catalogue: one row per input a client may send, with the answer it must get.
 * A good recording is transcribed while all of them run and must come out right.
 */

const scratch = mkdtempSync(path.join(tmpdir(), "whisperrr-catalogue-"));
const ffmpeg = (...args: string[]) => execFileSync("ffmpeg", ["-v", "error", "-y", ...args]);
const file = (name: string) => path.join(scratch, name);
const read = (name: string) => readFileSync(file(name));
const kit = (name: string) => readFileSync(recording(name).path);
const jfkWav = kit("jfk_inaugural_16k.wav");

function wavWithHugeDataSize(): Buffer {
  const wav = Buffer.from(jfkWav);
  const data = wav.indexOf("data");
  wav.writeUInt32LE(0x7ffffff0, data + 4);
  wav.writeUInt32LE(0x7ffffff8, 4);
  return wav;
}

/** FLAC of silence; `unknownLength` clears the sample count in STREAMINFO so only decoding reveals the length. */
function silenceFlac(hours: number, unknownLength: boolean): Buffer {
  const name = `silence-${hours}-${unknownLength}.flac`;
  ffmpeg("-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", String(hours * 3600), "-c:a", "flac", file(name));
  const flac = read(name);
  if (unknownLength) {
    // STREAMINFO starts at byte 8; its 36-bit total sample count occupies bytes 21 (low nibble) to 25.
    flac[21] = flac[21]! & 0xf0;
    flac.fill(0, 22, 26);
  }
  return flac;
}

const BOUNDARY = "catalogueBoundary42";
const form = (parts: Parameters<typeof multipart>[1]): RawRequest => ({
  headers: { "Content-Type": `multipart/form-data; boundary=${BOUNDARY}` },
  body: multipart(BOUNDARY, parts),
});
const raw = (body: Buffer, extra: Partial<RawRequest> = {}): RawRequest => ({ headers: { "Content-Type": "application/octet-stream" }, body, ...extra });

/** An HTTP answer or, for accepted uploads, the job's terminal event. */
interface Expect {
  /** HTTP statuses allowed (0 = connection closed without an answer). */
  status: number[];
  /** The error code, in the HTTP answer or in the job's `failed` event. */
  code?: keyof typeof ERROR_CODES;
  /** The accepted job completes, with text matching this. */
  completes?: RegExp;
}

interface HttpCase {
  name: string;
  input: () => RawRequest;
  expect: Expect;
}

const refused = (code: keyof typeof ERROR_CODES): Expect => ({ status: [ERROR_CODES[code]], code });
/** Decoding fails after the upload was accepted, or while it still arrives (then the answer carries the code). */
const failsDecoding = (code: keyof typeof ERROR_CODES): Expect => ({ status: [202, ERROR_CODES[code]], code });

const HLS = "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n#EXTINF:10,\nhttp://127.0.0.1:9/x.ts\n#EXT-X-ENDLIST\n";
const FFCONCAT = `ffconcat version 1.0\nfile '${recording("jfk_inaugural_16k.wav").path}'\nfile 'http://127.0.0.1:9/a.wav'\n`;
const SDP = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5004 RTP/AVP 0\r\n";

const HTTP_CASES: HttpCase[] = [
  { name: "empty body", input: () => raw(Buffer.alloc(0)), expect: refused("empty_upload") },
  { name: "empty chunked body", input: () => ({ headers: { "Transfer-Encoding": "chunked" }, body: Buffer.from("0\r\n\r\n") }), expect: refused("empty_upload") },
  { name: "one byte", input: () => raw(Buffer.from([0x52])), expect: failsDecoding("decode_failed") },
  { name: "a text file", input: () => raw(Buffer.from("This is not audio.\n".repeat(200))), expect: failsDecoding("decode_failed") },
  {
    name: "a PNG image",
    input: () => (ffmpeg("-f", "lavfi", "-i", "color=red:s=64x64", "-frames:v", "1", file("red.png")), raw(read("red.png"))),
    expect: failsDecoding("unsupported_format"),
  },
  { name: "a truncated WAV header", input: () => raw(jfkWav.subarray(0, 20)), expect: failsDecoding("decode_failed") },
  // A cut stream still holds the audio before the cut: it is transcribed, not refused.
  { name: "an MP3 truncated mid-stream", input: () => raw(kit("librivox_sonnet001_en.mp3").subarray(0, 150_000)), expect: { status: [202], completes: /fairest creatures/i } },
  { name: "a FLAC truncated mid-stream", input: () => raw(kit("jfk_inaugural_44k_stereo.flac").subarray(0, 600_000)), expect: { status: [202], completes: /fellow Americans/i } },
  {
    name: "a video without an audio track",
    input: () => (ffmpeg("-f", "lavfi", "-i", "testsrc=s=64x64:d=2", "-c:v", "mpeg4", "-f", "matroska", file("silent-video.mkv")), raw(read("silent-video.mkv"))),
    expect: failsDecoding("no_audio_stream"),
  },
  // The header's size is not trusted: the real 11 s are decoded.
  { name: "a WAV header claiming a huge data size", input: () => raw(wavWithHugeDataSize()), expect: { status: [202], completes: /ask not what your country/i } },
  {
    name: "audio longer than MAX_AUDIO_MINUTES",
    input: () => (ffmpeg("-f", "lavfi", "-i", "sine=f=440:r=8000:d=90", "-c:a", "libmp3lame", "-b:a", "8k", file("long.mp3")), raw(read("long.mp3"))),
    expect: failsDecoding("audio_too_long"),
  },
  { name: "3 hours of compressed silence (length in header)", input: () => raw(silenceFlac(3, false)), expect: failsDecoding("audio_too_long") },
  { name: "3 hours of compressed silence (length unknown)", input: () => raw(silenceFlac(3, true)), expect: failsDecoding("audio_too_long") },
  {
    name: "a malformed multipart body",
    input: () => ({ headers: { "Content-Type": `multipart/form-data; boundary=${BOUNDARY}` }, body: Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\nRIFF and then nothing`) }),
    expect: refused("malformed_multipart"),
  },
  { name: "multipart without a boundary", input: () => ({ headers: { "Content-Type": "multipart/form-data" }, body: jfkWav }), expect: refused("malformed_multipart") },
  { name: "multipart without a file field", input: () => form([{ name: "language", value: "en" }, { name: "audio", value: jfkWav, filename: "jfk.wav" }]), expect: refused("missing_file") },
  {
    name: "two files in one form",
    input: () => form([{ name: "file", value: jfkWav, filename: "a.wav" }, { name: "file", value: jfkWav, filename: "b.wav" }]),
    expect: refused("multiple_files"),
  },
  // The body ends where Content-Length says; the extra bytes are a broken next request, and uWS drops the connection.
  { name: "Content-Length shorter than the body", input: () => raw(jfkWav, { contentLength: 44 + 16000 * 2 }), expect: { status: [0, 202], completes: /^[^]*$/ } },
  { name: "Content-Length longer than the body, then EOF", input: () => raw(jfkWav.subarray(0, 100_000), { contentLength: jfkWav.length, then: "end" }), expect: { status: [0, 202, 499], code: "upload_aborted" } },
  { name: "an unknown language", input: () => raw(jfkWav, { path: "/api/jobs?language=klingon" }), expect: refused("invalid_option") },
  { name: "an unknown task", input: () => raw(jfkWav, { path: "/api/jobs?task=summarize" }), expect: refused("invalid_option") },
  { name: "an unknown language in a form", input: () => form([{ name: "language", value: "xx" }, { name: "file", value: jfkWav, filename: "a.wav" }]), expect: refused("invalid_option") },
  { name: "a 20 kB query string", input: () => raw(jfkWav, { path: `/api/jobs?language=en&x=${"a".repeat(20_000)}` }), expect: refused("uri_too_long") },
  { name: "20 kB of headers", input: () => raw(jfkWav, { headers: { "Content-Type": "application/octet-stream", "X-Padding": "b".repeat(20_000) } }), expect: refused("headers_too_large") },
  // uWS itself drops a request whose headers do not fit its buffer.
  { name: "2 MB of headers", input: () => ({ method: "GET", path: "/api/jobs/x", headers: { "X-Padding": "c".repeat(2_000_000) } }), expect: { status: [0, 431] } },
  { name: "an HLS playlist pointing at local files and URLs", input: () => raw(Buffer.from(HLS)), expect: failsDecoding("unsupported_format") },
  { name: "an ffconcat file pointing at local files and URLs", input: () => raw(Buffer.from(FFCONCAT)), expect: failsDecoding("unsupported_format") },
  { name: "an SDP description (RTP from the network)", input: () => raw(Buffer.from(SDP)), expect: failsDecoding("unsupported_format") },
  { name: "an HLS playlist as a form file", input: () => form([{ name: "file", value: HLS, filename: "list.m3u8" }]), expect: failsDecoding("unsupported_format") },
  { name: "an unknown job id", input: () => ({ method: "GET", path: `/api/jobs/${randomUUID()}` }), expect: refused("not_found") },
  { name: "a malformed job id", input: () => ({ method: "GET", path: "/api/jobs/..%2F..%2Fetc%2Fpasswd" }), expect: refused("invalid_job_id") },
  { name: "events of an unknown job", input: () => ({ method: "GET", path: `/api/jobs/${randomUUID()}/events` }), expect: refused("not_found") },
  { name: "transcript of a malformed job id", input: () => ({ method: "GET", path: "/api/jobs/1%20OR%201=1/transcript" }), expect: refused("invalid_job_id") },
  { name: "cancelling a malformed job id", input: () => ({ method: "DELETE", path: "/api/jobs/'%3B%20rm%20-rf" }), expect: refused("invalid_job_id") },
];

interface WsCase {
  name: string;
  send: () => (string | Buffer)[];
  /** Error codes expected back, in order; or the close code when the server must drop the socket. */
  expect: { codes?: (keyof typeof ERROR_CODES)[]; closeCode?: number };
}

const WS_CASES: WsCase[] = [
  { name: "non-JSON text", send: () => ["hello?"], expect: { codes: ["bad_request"] } },
  { name: "JSON of the wrong shape", send: () => ['{"type":"subscribe","jobId":42}', "[1,2,3]", '{"type":"launch"}', '{"type":"subscribe","jobId":"x","since":-1}'], expect: { codes: ["bad_request", "bad_request", "bad_request", "bad_request"] } },
  { name: "a binary frame", send: () => [Buffer.from([0, 1, 2, 3])], expect: { codes: ["bad_request"] } },
  // uWS drops a socket whose frame exceeds maxPayloadLength without a close frame (1006 on the client).
  { name: "an oversized frame", send: () => [JSON.stringify({ type: "subscribe", jobId: "a".repeat(100_000) })], expect: { closeCode: 1006 } },
  { name: "a nonexistent job", send: () => [JSON.stringify({ type: "subscribe", jobId: randomUUID() })], expect: { codes: ["not_found"] } },
  { name: "a malformed job id", send: () => [JSON.stringify({ type: "subscribe", jobId: "../../etc/passwd" })], expect: { codes: ["invalid_job_id"] } },
  {
    name: "subscribing to 3000 jobs",
    send: () => Array.from({ length: 3000 }, () => JSON.stringify({ type: "subscribe", jobId: randomUUID() })),
    expect: { codes: Array<keyof typeof ERROR_CODES>(3000).fill("not_found") },
  },
];

let server: TestServer;
let goodJob: Promise<string>;

test.before(async () => {
  server = await startTestServer({ MAX_AUDIO_MINUTES: "1", MAX_UPLOAD_MB: "8", RATE_LIMIT_PER_MINUTE: "0", POOL_SIZE: "2" });
  const good = recording("jfk_inaugural_44k_stereo.flac");
  goodJob = uploadMultipart(server.base, good.path, { language: "en" }).then((up) => {
    assert.is(up.status, 202);
    return up.body.id;
  });
});
test.after(async () => {
  await server.stop();
});

const createdJobs = () => server.logs.filter((l) => l.msg === "job created").map((l) => String(l.jobId));

for (const c of HTTP_CASES) {
  test(`HTTP: ${c.name}`, async () => {
    const jobsBefore = createdJobs().length;
    const res = await rawRequest(server.port, c.input());
    assert.ok(c.expect.status.includes(res.status), `${c.name}: status ${res.status} (want ${c.expect.status.join("|")}): ${res.body.slice(0, 300)}`);
    if (res.status >= 400) {
      assert.ok(res.json?.error?.message, "errors carry a human message");
      assert.not.match(res.body, /\n\s+at /, "no stack trace");
      if (c.expect.code) assert.is(res.json?.error?.code, c.expect.code, res.body);
    }
    // Dropped before any answer: the job the request created (if any) must end with the code.
    if (res.status === 0 && c.expect.code) await waitFor(() => createdJobs().length > jobsBefore, 10_000, "the dropped upload's job in the log");
    const jobId = res.status === 202 ? res.json!.id! : res.status === 0 && c.expect.code ? createdJobs()[jobsBefore] : undefined;
    if (jobId) {
      const end = await terminalEvent(server.base, jobId);
      if (c.expect.completes) {
        assert.is(end.type, "completed", JSON.stringify(end));
        assert.match(end.type === "completed" ? end.text : "", c.expect.completes);
      } else {
        assert.is(end.type, "failed", JSON.stringify(end));
        assert.is(end.type === "failed" && end.code, c.expect.code!, JSON.stringify(end));
      }
    }
    const health = await fetch(`${server.base}/healthz`);
    assert.is(health.status, 200, "the server is still up");
  });
}

for (const c of WS_CASES) {
  test(`WebSocket: ${c.name}`, async () => {
    const { received, closeCode } = await wsExchange(server.base, c.send(), c.expect.codes?.length ?? 1);
    if (c.expect.closeCode) return assert.is(closeCode, c.expect.closeCode);
    assert.equal(received.map((m) => m.code), c.expect.codes, JSON.stringify(received.slice(0, 3)));
    assert.ok(received.every((m) => m.type === "error" && typeof m.message === "string"));
  });
}

test("the good job running alongside completes with the right text", async () => {
  const id = await goodJob;
  const end = await terminalEvent(server.base, id);
  assert.is(end.type, "completed", JSON.stringify(end));
  const score = wordErrorRate(recording("jfk_inaugural_44k_stereo.flac").transcript, end.type === "completed" ? end.text : "");
  assert.ok(score.errors <= 1, `${score.errors} word errors`);
  const sub = await wsExchange(server.base, [JSON.stringify({ type: "subscribe", jobId: id })], 1);
  assert.is(sub.received[0]?.type, "subscribed", "WebSocket subscriptions still work after the abuse");
});

test.run();
