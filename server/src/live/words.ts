import type { RawSegment } from "../engine/whisper.ts";
import type { Word } from "./agreement.ts";

/**
 * Words whisper puts this close to the end of the audio it was given were not heard there: when it
 * runs out of audio while still "talking" (a loop on the last phrase, or text echoed from the
 * prompt), it squeezes the extra words into the last few milliseconds. One word there may be real
 * (the last one, cut short); a run of them is not.
 */
const SQUEEZED_SECONDS = 0.1;
const SQUEEZED_RUN = 2;

/**
 * The words of a decode of `duration` seconds of audio, in session time (`offset` = where that
 * audio starts), without a run of them squeezed into its end or any placed in the silence padding
 * after it.
 */
export function toWords(segments: RawSegment[], offset: number, duration: number): Word[] {
  const heard = segments.flatMap((s) => s.words ?? interpolated(s)).filter((w) => /[\p{L}\p{N}]/u.test(w.word) && w.from / 1000 < duration);
  const squeezed = heard.filter((w) => w.from / 1000 >= duration - SQUEEZED_SECONDS).length;
  return heard.slice(0, squeezed >= SQUEEZED_RUN ? heard.length - squeezed : heard.length).map((w) => {
    const start = offset + w.from / 1000;
    return { text: w.word, start, end: Math.max(start, offset + Math.min(duration, w.to / 1000)) };
  });
}

/** Without token times, a segment's words share its span in proportion to their length. */
function interpolated(s: RawSegment): { word: string; from: number; to: number }[] {
  const parts = s.text.split(/\s+/).filter(Boolean);
  const total = parts.reduce((n, p) => n + p.length + 1, 0);
  let at = 0;
  return parts.map((word) => {
    const from = s.from + ((s.to - s.from) * at) / total;
    at += word.length + 1;
    return { word, from, to: s.from + ((s.to - s.from) * at) / total };
  });
}
