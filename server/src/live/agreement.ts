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
  let prev = Array.from({ length: letters.length + 1 }, (_, j) => j);
  for (let i = 1; i <= target.length; i++) {
    const cur = [i];
    for (let j = 1; j <= letters.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (target[i - 1] === letters[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  let best = 0;
  for (let j = 1; j < boundaries.length; j++) if (prev[boundaries[j]!]! < prev[boundaries[best]!]!) best = j;
  return best;
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
  /** Normalised words committed from the audio still in the buffer. */
  private committed: string[] = [];
  private previousTail: Word[] = [];

  /** Returns the newly committed words and the still-uncommitted tail of `hyp`. */
  update(hyp: Word[]): { committed: Word[]; tail: Word[] } {
    const tail = this.tailOf(hyp);
    const agreed = commonPrefix(this.previousTail, tail);
    const committed = tail.slice(0, agreed);
    this.committed.push(...committed.map((w) => normalize(w.text)));
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
  }

  private tailOf(hyp: Word[]): Word[] {
    return hyp.slice(skipCommitted(this.committed, hyp.map((w) => normalize(w.text))));
  }
}
