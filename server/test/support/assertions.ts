import * as assert from "uvu/assert";
import type { JobEvent, SegmentEvent } from "@whisperrr/shared";

/**
 * The event contract every completed job must satisfy: contiguous sequence numbers, `queued`
 * first, `started` before any work, monotonic progress ending at 100, contiguous segments with
 * increasing times, and `completed` last, carrying the same text as the segments.
 */
export function assertCompletedFlow(events: JobEvent[]): SegmentEvent[] {
  assert.ok(events.length >= 4, `too few events: ${events.map((e) => e.type).join(",")}`);
  events.forEach((e, i) => assert.is(e.seq, i + 1, "sequence numbers are contiguous from 1"));
  assert.is(events[0]!.type, "queued");
  const started = events.findIndex((e) => e.type === "started");
  assert.ok(started > 0, "started follows queued");
  // Upload progress may come while queued; transcription progress may not.
  const firstWork = events.findIndex((e) => e.type === "segment" || (e.type === "progress" && e.processedSeconds > 0));
  assert.ok(firstWork === -1 || firstWork > started, "no transcription before started");
  let percent = -1;
  for (const e of events) {
    if (e.type !== "progress") continue;
    assert.ok(e.percent >= percent, `progress is monotonic (${percent} -> ${e.percent})`);
    assert.ok(e.percent >= 0 && e.percent <= 100);
    percent = e.percent;
  }
  assert.is(percent, 100, "progress ends at 100");
  const segments = events.filter((e): e is SegmentEvent => e.type === "segment");
  let end = 0;
  segments.forEach((s, i) => {
    assert.is(s.index, i, "segment indexes are contiguous");
    assert.ok(s.start >= end - 1e-9 && s.end >= s.start, `segment ${i} times increase (${s.start}-${s.end} after ${end})`);
    end = s.end;
  });
  const last = events.at(-1)!;
  assert.is(last.type, "completed", `last event is completed, got ${last.type}: ${JSON.stringify(last)}`);
  if (last.type === "completed") {
    assert.is(last.text, segments.map((s) => s.text).join(" "));
    assert.is(last.segmentCount, segments.length);
  }
  return segments;
}
