import type { JobEvent } from "@whisperrr/shared";
import type { EventHub } from "../events/hub.ts";
import type { JobHandle } from "../jobs/backend.ts";
import type { Reply } from "../http/respond.ts";
import { openAIError } from "./errors.ts";
import { followJob } from "./follow.ts";
import { endingFailure } from "./outcome.ts";

/** The two event shapes of OpenAI's streamed transcription; `delta`s concatenate to the done `text`. */
export type TranscriptStreamEvent = { type: "transcript.text.delta"; delta: string } | { type: "transcript.text.done"; text: string };

const sse = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;

/**
 * `stream=true`: one `transcript.text.delta` per segment as the engine emits it, then
 * `transcript.text.done` with the whole text. A failed or cancelled job ends the stream with an
 * `{"error": …}` event, which OpenAI's clients raise as an API error.
 */
export function streamTranscript(reply: Reply, job: JobHandle, hub: EventHub, onStop: () => void): () => void {
  const { res } = reply;
  res.cork(() => {
    res.writeStatus("200 OK");
    res.writeHeader("Content-Type", "text/event-stream; charset=utf-8");
    res.writeHeader("Cache-Control", "no-cache, no-transform");
    res.writeHeader("X-Accel-Buffering", "no");
    res.writeHeader("X-Job-Id", job.id);
  });
  const write = (text: string, last = false) => {
    if (!reply.open) return;
    res.cork(() => (last ? res.end(text) : res.write(text)));
    if (last) reply.done = true;
  };
  return followJob(job, hub, (event: JobEvent) => {
    if (event.type === "segment") write(sse({ type: "transcript.text.delta", delta: event.index === 0 ? event.text : ` ${event.text}` }));
    else if (event.type === "completed") write(sse({ type: "transcript.text.done", text: event.text }), true);
    else if (event.type === "failed" || event.type === "cancelled") write(sse(openAIError(endingFailure(event)).body), true);
  }, onStop);
}
