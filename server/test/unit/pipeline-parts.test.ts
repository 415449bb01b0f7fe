import { test } from "uvu";
import * as assert from "uvu/assert";
import { quietestCut, isSilent, isBackground, speechLevel } from "../../src/audio/windows.ts";
import { computeProgress, type PipelineFacts } from "../../src/jobs/progress.ts";
import { renderTranscript } from "../../src/transcript/formats.ts";
import { loadConfig, ConfigError } from "../../src/config.ts";
import { parseDuration, classifyFailure } from "../../src/audio/decode.ts";
import { normalizeWords, wordErrorRate } from "../support/wer.ts";
import type { JobSnapshot } from "@whisperrr/shared";

const RATE = 16_000;
function tone(seconds: number, amplitude: number): Float32Array {
  return Float32Array.from({ length: seconds * RATE }, (_, i) => amplitude * Math.sin((2 * Math.PI * 220 * i) / RATE));
}

test("quietestCut ends a window in the gap between two sounds", () => {
  const pcm = new Float32Array(30 * RATE);
  pcm.set(tone(27, 0.3));
  pcm.set(tone(2.5, 0.3), Math.round(27.5 * RATE)); // gap 27.0-27.5 s
  const cut = quietestCut(pcm) / RATE;
  assert.ok(cut >= 27 && cut <= 27.5, `cut at ${cut}`);
});

test("silence and background are told apart from speech", () => {
  assert.ok(isSilent(new Float32Array(RATE)));
  assert.not.ok(isSilent(tone(1, 0.1)));
  const speech = speechLevel(tone(5, 0.2));
  assert.ok(isBackground(tone(1, 0.01), speech));
  assert.not.ok(isBackground(tone(1, 0.15), speech));
});

const facts = (over: Partial<PipelineFacts>): PipelineFacts => ({
  uploadDone: true, uploadedBytes: 100, uploadTotalBytes: 100, decodeDone: false, decodedSeconds: 0,
  headerSeconds: null, transcribedSeconds: 0, transcribeWallSeconds: 0, ...over,
});

test("progress: percent from transcribed/total, monotonic, capped at 99 until completion, ETA from speed", () => {
  const p1 = computeProgress(facts({ headerSeconds: 100, decodedSeconds: 40, transcribedSeconds: 30, transcribeWallSeconds: 3 }), null);
  assert.is(p1.percent, 30);
  assert.is(p1.stage, "decode");
  assert.is(p1.etaSeconds, 7);
  const p2 = computeProgress(facts({ decodeDone: true, decodedSeconds: 50, transcribedSeconds: 10 }), p1);
  assert.is(p2.percent, 30, "a shorter total never moves percent backwards");
  const p3 = computeProgress(facts({ decodeDone: true, decodedSeconds: 50, transcribedSeconds: 50, transcribeWallSeconds: 5 }), p2);
  assert.is(p3.percent, 99);
  const unknown = computeProgress(facts({ uploadDone: false, uploadTotalBytes: null }), null);
  assert.is(unknown.totalSeconds, null);
  assert.is(unknown.stage, "upload");
});

test("transcript formats", () => {
  const job = { id: "x", status: "completed", result: { text: "a b", language: "en", durationSeconds: 4000, processingSeconds: 1 },
    segments: [{ index: 0, start: 0, end: 1.5, text: "a" }, { index: 1, start: 3661.25, end: 3662, text: "b" }] } as unknown as JobSnapshot;
  assert.is(renderTranscript(job, "txt"), "a\nb\n");
  assert.is(renderTranscript(job, "srt"), "1\n00:00:00,000 --> 00:00:01,500\na\n\n2\n01:01:01,250 --> 01:01:02,000\nb\n");
  assert.is(renderTranscript(job, "vtt"), "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\na\n\n01:01:01.250 --> 01:01:02.000\nb\n");
  assert.equal(JSON.parse(renderTranscript(job, "json")).segments.length, 2);
});

test("configuration: defaults, and every bad value reported at once", () => {
  const config = loadConfig({});
  assert.is(config.port, 8080);
  assert.is(config.maxUploadBytes, 500 * 1024 * 1024);
  try {
    loadConfig({ PORT: "http", POOL_SIZE: "0", LOG_LEVEL: "loud" });
    assert.unreachable();
  } catch (err) {
    assert.instance(err, ConfigError);
    assert.match((err as Error).message, /PORT="http"/);
    assert.match((err as Error).message, /POOL_SIZE="0"/);
    assert.match((err as Error).message, /LOG_LEVEL="loud"/);
  }
});

test("ffmpeg output parsing", () => {
  assert.is(parseDuration("00:01:02.50"), 62.5);
  assert.is(parseDuration("N/A"), null);
  assert.is(classifyFailure("Stream map '0:a:0' matches no streams.", "x").code, "no_audio_stream");
  const failure = classifyFailure("ffmpeg version 5\npipe:0: Invalid data found when processing input", "exit 1");
  assert.is(failure.code, "decode_failed");
  assert.match(failure.message, /Invalid data found/);
});

test("WER normalisation: case, punctuation, digits 0-20", () => {
  assert.equal(normalizeWords("1 From fairest, I'M 21!"), ["one", "from", "fairest", "im", "21"]);
  assert.is(wordErrorRate("a b c d", "a x c").errors, 2);
});

test.run();
