import { test } from "uvu";
import * as assert from "uvu/assert";
import type { JobEvent } from "@whisperrr/shared";
import { applyEvent, segmentAt, transcriptText, type JobView } from "../src/lib/job-state.ts";

const base = { jobId: "j", at: "" };

function view(): JobView {
  return {
    key: "k", id: "j", fileName: "a.wav", fileSize: 1, mediaUrl: "", mediaKind: "audio",
    options: { language: "auto", task: "transcribe" }, phase: "queued", upload: { loaded: 1, total: 1 },
    queuePosition: null, progress: null, segments: [], result: null, error: null, connection: "websocket", via: "websocket",
    retryReason: null,
  };
}

test("events move a job through queue, progress, segments and completion", () => {
  const job = view();
  const events: JobEvent[] = [
    { ...base, seq: 1, type: "queued", position: 2 },
    { ...base, seq: 2, type: "started" },
    { ...base, seq: 3, type: "progress", stage: "transcribe", percent: 40, processedSeconds: 4, totalSeconds: 10, etaSeconds: 6 },
    { ...base, seq: 4, type: "segment", index: 0, start: 0, end: 2.5, text: " Hello" },
    { ...base, seq: 5, type: "segment", index: 1, start: 2.5, end: 5, text: " world." },
    { ...base, seq: 6, type: "completed", text: "Hello world.", language: "en", durationSeconds: 5, processingSeconds: 1, segmentCount: 2 },
  ];
  applyEvent(job, events[0]!);
  assert.is(job.queuePosition, 2);
  for (const e of events.slice(1)) applyEvent(job, e);
  assert.is(job.phase, "completed");
  assert.is(job.queuePosition, null);
  assert.is(job.progress?.percent, 100);
  assert.is(job.result?.segmentCount, 2);
  assert.is(transcriptText(job), "Hello\nworld.");
  assert.is(segmentAt(job.segments, 3), 1);
  assert.is(segmentAt(job.segments, 9), -1);
});

test("a retry (Redis mode) puts the job back in the queue with its reason, keeps its segments, and running resumes", () => {
  const job = view();
  applyEvent(job, { ...base, seq: 1, type: "started" });
  applyEvent(job, { ...base, seq: 2, type: "segment", index: 0, start: 0, end: 2, text: " One." });
  applyEvent(job, { ...base, seq: 3, type: "retrying", attempt: 2, reason: "The replica shut down." });
  assert.is(job.phase, "queued");
  assert.is(job.retryReason, "The replica shut down.");
  applyEvent(job, { ...base, seq: 4, type: "started" });
  applyEvent(job, { ...base, seq: 5, type: "segment", index: 1, start: 2, end: 4, text: " Two." });
  assert.is(job.phase, "running");
  assert.is(transcriptText(job), "One.\nTwo.");
});

test("a failure keeps its code and message", () => {
  const job = view();
  applyEvent(job, { ...base, seq: 1, type: "failed", code: "decode_failed", message: "ffmpeg could not decode the input." });
  assert.is(job.phase, "failed");
  assert.equal(job.error, { code: "decode_failed", message: "ffmpeg could not decode the input." });
});

test.run();
