import type { LiveFinalMessage, LiveServerMessage } from "@whisperrr/shared";

/** What the Live view shows: committed finals and the provisional tail. */
export interface LiveTranscript {
  finals: LiveFinalMessage[];
  partial: string;
}

export const emptyTranscript = (): LiveTranscript => ({ finals: [], partial: "" });

/**
 * Applies a server message. Finals are appended (a repeated index is ignored: finals are never
 * revised); a partial replaces the previous one; a final clears the partial it came from.
 */
export function applyMessage(t: LiveTranscript, m: LiveServerMessage): LiveTranscript {
  if (m.type === "final") {
    if (t.finals.some((f) => f.index === m.index)) return t;
    return { finals: [...t.finals, m], partial: "" };
  }
  if (m.type === "partial") return { ...t, partial: m.text };
  if (m.type === "ended") return { ...t, partial: "" };
  return t;
}

export const transcriptText = (t: LiveTranscript): string => t.finals.map((f) => f.text).join(" ");

/** Plain text with one timed line per final, for download. */
export function transcriptFile(t: LiveTranscript): string {
  const clock = (s: number) => `${String(Math.floor(s / 60)).padStart(2, "0")}:${(s % 60).toFixed(1).padStart(4, "0")}`;
  return t.finals.map((f) => `[${clock(f.start)} → ${clock(f.end)}] ${f.text}`).join("\n") + "\n";
}
