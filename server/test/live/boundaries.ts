import { normalizeWords } from "../support/wer.ts";

/**
 * Checks the seams between consecutive finals against the reference: a word repeated across a
 * seam (and not repeated in the reference) is a duplicate; a reference word the alignment puts
 * in a seam gap is lost there — unless the file job missed that same reference word too (a model
 * error, not a seam one: e.g. both hear "help you get started" for "help you to get started").
 */
export function seamErrors(reference: string, finals: string[], fileTranscript: string): string[] {
  const ref = normalizeWords(reference);
  const hyp: string[] = [];
  const seams = new Set<number>();
  for (const text of finals) {
    if (hyp.length > 0) seams.add(hyp.length);
    hyp.push(...normalizeWords(text));
  }
  const fileMissed = new Set(deletions(ref, normalizeWords(fileTranscript)).map((d) => d.refIndex));
  const refText = ` ${ref.join(" ")} `;
  const errors: string[] = [];
  for (const at of seams) {
    const before = hyp[at - 1];
    if (before !== undefined && before === hyp[at] && !refText.includes(` ${before} ${before} `)) errors.push(`"${before}" repeated across a seam`);
  }
  for (const { refIndex, gapBefore } of deletions(ref, hyp)) {
    if (seams.has(gapBefore) && !fileMissed.has(refIndex)) errors.push(`"${ref[refIndex]}" lost at a seam`);
  }
  return errors;
}

/** Reference words missing from the hypothesis (by index), with the hypothesis index they are missing before. */
function deletions(ref: string[], hyp: string[]): { refIndex: number; gapBefore: number }[] {
  const d = Array.from({ length: ref.length + 1 }, (_, i) => Array.from({ length: hyp.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= ref.length; i++) {
    for (let j = 1; j <= hyp.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (ref[i - 1] === hyp[j - 1] ? 0 : 1));
    }
  }
  const out: { refIndex: number; gapBefore: number }[] = [];
  let [i, j] = [ref.length, hyp.length];
  while (i > 0 || j > 0) {
    if (i > 0 && j > 0 && d[i]![j] === d[i - 1]![j - 1]! + (ref[i - 1] === hyp[j - 1] ? 0 : 1)) [i, j] = [i - 1, j - 1];
    else if (i > 0 && d[i]![j] === d[i - 1]![j]! + 1) out.push({ refIndex: --i, gapBefore: j });
    else j--;
  }
  return out;
}
