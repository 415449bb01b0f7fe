import type { JobSnapshot, Segment, TranscriptFormat } from "@whisperrr/shared";

export const CONTENT_TYPES: Record<TranscriptFormat, string> = {
  txt: "text/plain; charset=utf-8",
  json: "application/json; charset=utf-8",
  srt: "application/x-subrip; charset=utf-8",
  vtt: "text/vtt; charset=utf-8",
};

function clock(seconds: number, separator: "," | "."): string {
  const ms = Math.round(seconds * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${pad(h)}:${pad(m)}:${pad(s)}${separator}${pad(ms % 1000, 3)}`;
}

function cues(segments: Segment[], separator: "," | "."): string[] {
  return segments.map((s) => `${clock(s.start, separator)} --> ${clock(s.end, separator)}\n${s.text}\n`);
}

export function renderTranscript(job: JobSnapshot, format: TranscriptFormat): string {
  switch (format) {
    case "txt":
      return job.segments.map((s) => s.text).join("\n") + (job.segments.length ? "\n" : "");
    case "json":
      return JSON.stringify({ id: job.id, status: job.status, ...job.result, segments: job.segments }, null, 2);
    case "srt":
      return cues(job.segments, ",").map((cue, i) => `${i + 1}\n${cue}`).join("\n");
    case "vtt":
      return ["WEBVTT\n", ...cues(job.segments, ".")].join("\n");
  }
}
