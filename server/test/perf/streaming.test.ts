import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as smartWhisper from "smart-whisper";
import type { JobEvent, SegmentEvent } from "@whisperrr/shared";
import { MODEL_FILE, transcribeBare } from "../../../scripts/bench/bare.ts";
import { concatenated, decodePcm, recordings, type Clip } from "../../../scripts/bench/inputs.ts";
import { followJob, upload, type UploadTiming } from "../../../scripts/bench/server.ts";
import { assertCompletedFlow } from "../support/assertions.ts";
import { startTestServer, waitFor, type TestServer } from "../support/server.ts";
import { wordErrorRate } from "../support/wer.ts";

// One long job, streamed slowly, checked three ways. No timings are asserted: only the order
// of things (first segment before the upload's last byte) and the words.

/** Four seconds of 16 kHz s16 audio per second of upload: a slow link for a WAV. */
const PACE_BYTES_PER_SECOND = 4 * 32_000;
/** Accuracy guard: windowed word error rate no more than this above single-pass whisper's. */
const WER_GUARD = 0.005;

let server: TestServer;
let long: Clip;
let timing: UploadTiming;
let events: JobEvent[] = [];

test.before(async () => {
  long = concatenated(recordings(), 180, mkdtempSync(path.join(os.tmpdir(), "whisperrr-perf-")));
  // Debug logs include one line per transcribed window, which the upload below waits for.
  server = await startTestServer({ LOG_LEVEL: "debug" });
});
test.after(async () => {
  await server.stop();
});

test("a long upload streamed slowly gets its first segment before the upload finishes", async () => {
  // On a very slow machine the paced upload could end before whisper finishes a window; the
  // last chunk is then held until the server reports one. A server that waited for the whole
  // upload would never report one, and this test would fail by timing out.
  const windowDone = () => server.logs.some((l) => l.msg === "window transcribed");
  timing = await upload(server.base, long.path, {
    bytesPerSecond: PACE_BYTES_PER_SECOND,
    query: "language=en",
    beforeLastChunk: () => waitFor(windowDone, 20 * 60_000, "a window transcribed during the upload"),
  });
  events = await followJob(server.base, timing.id);
  const first = events.find((e): e is SegmentEvent => e.type === "segment");
  assert.ok(first, "the job produced segments");
  assert.ok(Date.parse(first.at) < timing.bodyDoneAt, `first segment at ${first.at}, upload finished at ${new Date(timing.bodyDoneAt).toISOString()}`);
  const uploadingAfterFirst = events.some((e) => e.seq > first.seq && e.type === "progress" && e.stage === "upload");
  assert.ok(uploadingAfterFirst, "progress still reports the upload stage after the first segment");
});

test("segment timestamps run continuously across windows to the end of the audio", () => {
  const segments = assertCompletedFlow(events);
  assert.ok(segments[0]!.start < 2, `first segment starts at ${segments[0]!.start}`);
  const last = segments.at(-1)!;
  assert.ok(last.end > long.seconds - 10 && last.end <= long.seconds + 0.5, `last segment ends at ${last.end} of ${long.seconds} s`);
  // The kit recordings are speech with short pauses: no hole in the timeline longer than that.
  segments.slice(1).forEach((s, i) => assert.ok(s.start - segments[i]!.end < 8, `gap before segment ${i + 1}: ${segments[i]!.end} -> ${s.start}`));
  const windows = Math.ceil(long.seconds / 30);
  assert.ok(segments.length >= windows, `${segments.length} segments for ${windows}+ windows`);
});

test("windowed transcription has single-pass whisper's accuracy on the kit recordings", async () => {
  const done = events.at(-1);
  assert.ok(done?.type === "completed");
  const model = await smartWhisper.WhisperModel.load(MODEL_FILE, false);
  try {
    const single = await transcribeBare(smartWhisper, model, decodePcm(long.path), { language: "en", threads: 1 });
    const windowed = wordErrorRate(long.reference, done.text);
    const singlePass = wordErrorRate(long.reference, single.text);
    assert.ok(
      windowed.wer <= singlePass.wer + WER_GUARD,
      `windowed WER ${(windowed.wer * 100).toFixed(2)}% vs single pass ${(singlePass.wer * 100).toFixed(2)}% (${windowed.words} words)`,
    );
  } finally {
    await model.free();
  }
});

test.run();
