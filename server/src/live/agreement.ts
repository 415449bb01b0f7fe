import { editDistanceRow } from "../transcript/edit-distance.ts";

/** A word of a hypothesis, with its times in session seconds. */
export interface Word {
  text: string;
  start: number;
  end: number;
}

/** Case and punctuation do not make two decodes disagree. */
export const normalize = (word: string): string => word.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, "");

/**
 * Where the not-yet-committed part of `hyp` begins, given the words already committed from the
 * same audio: after the prefix of `hyp` whose letters are closest (edit distance) to those of
 * `committed`. A redecode may spell a committed word differently, or split or merge words;
 * aligning letters rather than counting words keeps that from repeating or dropping a word.
 */
export function skipCommitted(committed: string[], hyp: string[]): number {
  const target = committed.join("");
  if (target === "") return 0;
  const letters = hyp.join("");
  /** Letter offset in `letters` where each word boundary j (0..hyp.length) falls. */
  const boundaries = [0];
  for (const w of hyp) boundaries.push(boundaries.at(-1)! + w.length);
  const prev = editDistanceRow(target, letters);
  let best = 0;
  for (let j = 1; j < boundaries.length; j++) if (prev[boundaries[j]!]! < prev[boundaries[best]!]!) best = j;
  return best;
}

/** The longest k such that the last k words of `before` are the first k of `words`. */
function overlap(before: string[], words: string[]): number {
  for (let k = Math.min(before.length, words.length); k > 0; k--) {
    if (before.slice(-k).every((w, i) => w === words[i])) return k;
  }
  return 0;
}

function commonPrefix(a: Word[], b: Word[]): number {
  let n = 0;
  while (n < a.length && n < b.length && normalize(a[n]!.text) === normalize(b[n]!.text)) n++;
  return n;
}

/**
 * LocalAgreement-2: each decode of the growing buffer yields a hypothesis; the words on which it
 * agrees with the previous decode (their common prefix after what is already committed) are
 * committed. Committed words are never revised; the rest is the partial.
 */
export class LocalAgreement {
  /** Words committed from the audio still in the buffer. */
  private committed: Word[] = [];
  private previousTail: Word[] = [];
  /** The last committed words before a trim: a hypothesis that starts with them repeats them. */
  private carry: string[] = [];

  /** Returns the newly committed words and the still-uncommitted tail of `hyp`. */
  update(hyp: Word[]): { committed: Word[]; tail: Word[] } {
    const tail = this.tailOf(hyp);
    const agreed = commonPrefix(this.previousTail, tail);
    const committed = tail.slice(0, agreed);
    this.committed.push(...committed);
    if (committed.length > 0) this.carry = [];
    this.previousTail = tail.slice(agreed);
    return { committed, tail: this.previousTail };
  }

  /** Commits every uncommitted word of `hyp` (end of an utterance or of the session). */
  commitAll(hyp: Word[]): Word[] {
    const tail = this.tailOf(hyp);
    this.reset();
    return tail;
  }

  /** The buffer was trimmed past everything committed: start afresh. */
  reset(): void {
    this.committed = [];
    this.previousTail = [];
    this.carry = [];
  }

  /** The last word committed from the audio still in the buffer. */
  get lastCommitted(): Word | undefined {
    return this.committed.at(-1);
  }

  /** The buffer was trimmed at the end of the last committed word; the uncommitted tail stays. */
  trimmedToCommitted(): void {
    this.carry = this.committed.slice(-3).map((w) => normalize(w.text));
    this.committed = [];
  }

  private tailOf(hyp: Word[]): Word[] {
    const words = hyp.map((w) => normalize(w.text));
    if (this.committed.length === 0) return hyp.slice(overlap(this.carry, words));
    return hyp.slice(skipCommitted(this.committed.map((w) => normalize(w.text)), words));
  }
}
