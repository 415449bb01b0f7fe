import { deflateSync } from "node:zlib";
import type { JobSnapshot, Segment } from "@whisperrr/shared";
import { CONTENT_TYPES, renderTranscript } from "../transcript/formats.ts";
import { languageName } from "./languages.ts";
import type { OpenAIRequest } from "./request.ts";

export interface Rendered {
  body: string;
  contentType: string;
}

/** Whisper's repetition check: text length over its deflated length (above 2.4 usually means a loop). */
function compressionRatio(text: string): number {
  const bytes = Buffer.from(text, "utf8");
  return bytes.length === 0 ? 0 : Math.round((bytes.length / deflateSync(bytes).length) * 1000) / 1000;
}

/**
 * OpenAI's segment fields that whisper.cpp gives us honestly; `seek`, `tokens`, `avg_logprob`
 * and `no_speech_prob` are left out rather than invented.
 */
function verboseSegment(segment: Segment, temperature: number) {
  return { id: segment.index, start: segment.start, end: segment.end, text: segment.text, temperature, compression_ratio: compressionRatio(segment.text) };
}

function verboseJson(job: JobSnapshot, request: OpenAIRequest): string {
  const granularities = request.granularities.length > 0 ? request.granularities : ["segment"];
  const body = {
    task: job.options.task,
    language: languageName(job.result?.language ?? ""),
    duration: job.result?.durationSeconds ?? 0,
    text: job.result?.text ?? "",
    ...(granularities.includes("segment") ? { segments: job.segments.map((s) => verboseSegment(s, request.job.temperature ?? 0)) } : {}),
    ...(granularities.includes("word") ? { words: job.segments.flatMap((s) => s.words ?? []) } : {}),
  };
  return JSON.stringify(body);
}

/** The body of a finished job in the requested `response_format`. */
export function renderResponse(job: JobSnapshot, request: OpenAIRequest): Rendered {
  switch (request.format) {
    case "json":
      return { body: JSON.stringify({ text: job.result?.text ?? "" }), contentType: CONTENT_TYPES.json };
    case "verbose_json":
      return { body: verboseJson(job, request), contentType: CONTENT_TYPES.json };
    case "text":
      return { body: `${job.result?.text ?? ""}\n`, contentType: CONTENT_TYPES.txt };
    case "srt":
    case "vtt":
      return { body: renderTranscript(job, request.format), contentType: CONTENT_TYPES[request.format] };
  }
}
