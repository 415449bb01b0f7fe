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
 * `committed`, if at least half of those letters match. A redecode may spell a committed word differently, or split or merge words;
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
  // Not a respelling but other words: whisper left the committed ones out (e.g. the fragment of a
  // word left before a cut), and what it heard is all new.
  return prev[boundaries[best]!]! * 2 > target.length ? 0 : best;
}

/** A phrase at least this long said twice in a row is whisper looping, not speech. */
const MIN_LOOP_WORDS = 3;

/**
 * `hyp` without the copies whisper appends when it loops (it repeats the last phrase, often with
 * its timestamps squeezed into the end of the audio): a run of words that exactly repeats the run
 * just before it is dropped, from the end, until none is left.
 */
export function withoutLoops(hyp: Word[]): Word[] {
  const words = hyp.map((w) => normalize(w.text));
  let n = words.length;
  for (let k = Math.floor(n / 2); k >= MIN_LOOP_WORDS; k--) {
    if (words.slice(n - k, n).every((w, i) => w === words[n - 2 * k + i])) {
      n -= k;
      k = Math.floor(n / 2) + 1;
    }
  }
  return hyp.slice(0, n);
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

const middle = (w: Word) => (w.start + w.end) / 2;

/** A hypothesis that starts this soon after the last committed word may be re-hearing it. */
const ECHO_WINDOW_SECONDS = 1;
/** Committed words remembered across trims, to recognise a redecode (or prompt echo) of them. */
const RECENT_WORDS = 8;

/**
 * LocalAgreement-2: each decode of the growing buffer yields a hypothesis; the words on which it
 * agrees with the previous decode (their common prefix after what is already committed) are
 * committed. Committed words are never revised; the rest is the partial.
 */
export class LocalAgreement {
  /** Words committed from the audio still in the buffer. */
  private committed: Word[] = [];
  private previousTail: Word[] = [];
  /**
   * The last words committed, kept across trims and utterance commits: whisper, prompted with
   * them, may hear them again at the start of the next buffer, and they must not be re-emitted.
   */
  private recent: Word[] = [];

  /** Returns the newly committed words and the still-uncommitted tail of `hyp`. */
  update(hyp: Word[]): { committed: Word[]; tail: Word[] } {
    const tail = this.tailOf(hyp);
    const agreed = commonPrefix(this.previousTail, tail);
    const committed = tail.slice(0, agreed);
    this.committed.push(...committed);
    this.remember(committed);
    this.previousTail = tail.slice(agreed);
    return { committed, tail: this.previousTail };
  }

  /** Commits every uncommitted word of `hyp` (end of an utterance or of the session). */
  commitAll(hyp: Word[]): Word[] {
    const tail = this.tailOf(hyp);
    this.reset();
    this.remember(tail);
    return tail;
  }

  /** The buffer was trimmed past everything committed: start afresh. */
  reset(): void {
    this.committed = [];
    this.previousTail = [];
  }

  /** The last word committed from the audio still in the buffer. */
  get lastCommitted(): Word | undefined {
    return this.committed.at(-1);
  }

  /**
   * Where the buffer may be cut between two committed words, the first ending past `after` s,
   * latest first: between their middles. Whisper's word times are often off by a few tenths of a
   * second (asterisk: "answer" placed 0.5 s late), so the cut never goes past the last committed
   * word: that word stays in the buffer, is heard again and skipped by alignment, and no word not
   * yet committed can be cut away.
   */
  cutRanges(after: number): { from: number; to: number }[] {
    const ranges: { from: number; to: number }[] = [];
    for (let i = this.committed.length - 2; i >= 0 && this.committed[i]!.end > after; i--) {
      ranges.push({ from: middle(this.committed[i]!), to: middle(this.committed[i + 1]!) });
    }
    return ranges;
  }

  /** The buffer now starts at `at` s: committed words mostly before it are gone from it. */
  trimmedAt(at: number): void {
    this.committed = this.committed.filter((w) => middle(w) >= at);
  }

  private remember(words: Word[]): void {
    this.recent = [...this.recent, ...words].slice(-RECENT_WORDS);
  }

  private tailOf(heard: Word[]): Word[] {
    const hyp = withoutLoops(heard);
    const words = hyp.map((w) => normalize(w.text));
    if (this.committed.length > 0) return hyp.slice(skipCommitted(this.committed.map((w) => normalize(w.text)), words));
    const last = this.recent.at(-1);
    if (!last || !hyp[0] || hyp[0].start > last.end + ECHO_WINDOW_SECONDS) return hyp;
    return hyp.slice(overlap(this.recent.map((w) => normalize(w.text)), words));
  }
}
