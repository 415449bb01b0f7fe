import { editDistanceRow } from "../../src/transcript/edit-distance.ts";

/** Word error rate as the tests and benchmarks score it: normalised words, Levenshtein distance. */
const SMALL_NUMBERS = [
  "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
  "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
];

/** Lower case, no punctuation (apostrophes dropped, hyphens split), digits 0-20 spelled out. */
export function normalizeWords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/['’]/g, "")
    .replace(/[^\p{L}\p{N}]+/gu, " ")
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((w) => (/^\d+$/.test(w) && Number(w) <= 20 ? SMALL_NUMBERS[Number(w)]! : w));
}

export function editDistance(ref: string[], hyp: string[]): number {
  return editDistanceRow(ref, hyp)[hyp.length]!;
}

export interface WerScore {
  errors: number;
  words: number;
  wer: number;
}

export function wordErrorRate(reference: string, hypothesis: string): WerScore {
  const ref = normalizeWords(reference);
  const errors = editDistance(ref, normalizeWords(hypothesis));
  return { errors, words: ref.length, wer: ref.length ? errors / ref.length : 0 };
}
