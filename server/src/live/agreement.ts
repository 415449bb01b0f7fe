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
 * How `hyp` lines up with the words already committed from the same audio: `skip`, where its
 * not-yet-committed part begins; `reached`, how many committed words it heard again. `hyp` is
 * matched by letters (edit distance), so a redecode that spells a committed word differently, or
 * splits or merges words, neither repeats nor drops one. Either all the committed letters match a
 * prefix of `hyp` (it heard them, then new words), or all of its letters match a prefix of the
 * committed ones (it heard only part of them and nothing new: whisper sometimes returns only the
 * first few words of a buffer, and a decode up to a cut stops short of the words past it),
 * whichever matches closer, if at least half of the letters match. Else whisper left the committed
 * words out (e.g. the fragment of a word left before a cut), and what it heard is all new.
 */
export function alignCommitted(committed: string[], hyp: string[]): { skip: number; reached: number } {
  const none = { skip: 0, reached: committed.length };
  const { whole, part } = prefixMatches(committed, hyp);
  if (whole.of === 0 || part.of === 0) return none;
  if (whole.cost <= part.cost) return whole.cost * 2 <= whole.of ? { skip: whole.at, reached: committed.length } : none;
  return part.cost * 2 <= part.of ? { skip: hyp.length, reached: part.at } : none;
}

interface Match {
  /** Word boundary where the match ends. */
  at: number;
  /** Letters that differ. */
  cost: number;
  /** Letters matched against the boundary (the cost's scale). */
  of: number;
}

/**
 * The two ways word lists `said` and `heard` line up by letters: `whole`, all of `said` against
 * the closest prefix of `heard` (a boundary in `heard`); `part`, all of `heard` against the
 * closest prefix of `said` (a boundary in `said`).
 */
function prefixMatches(said: string[], heard: string[]): { whole: Match; part: Match } {
  const [a, b] = [said.join(""), heard.join("")];
  return {
    whole: { ...bestBoundary(editDistanceRow(a, b), heard), of: a.length },
    part: { ...bestBoundary(editDistanceRow(b, a), said), of: b.length },
  };
}

/** The word boundary of `words` at which a DP row (indexed by letters) is lowest, first if tied. */
function bestBoundary(row: number[], words: string[]): { at: number; cost: number } {
  let at = 0;
  let letters = 0;
  let cost = row[0]!;
  words.forEach((w, j) => {
    letters += w.length;
    if (row[letters]! < cost) [at, cost] = [j + 1, row[letters]!];
  });
  return { at, cost };
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

/** Letters an echo may differ by, per letter of the echoed words: a respelling ("and" as "an"). */
const ECHO_TOLERANCE = 1 / 5;

/**
 * How many leading words of `words` re-hear the latest committed words (`before`): a run of them
 * ending with the last, or, when `words` heard nothing else, a run starting anywhere; matched by
 * letters within ECHO_TOLERANCE (so a short word must match exactly), as in alignCommitted:
 * "installed and executed" comes back as "installed an executed", or as "installed" alone.
 */
function echoOf(before: string[], words: string[]): number {
  const close = (m: Match) => m.at > 0 && m.cost <= Math.floor(m.of * ECHO_TOLERANCE);
  for (let k = before.length; k > 0; k--) {
    const { whole, part } = prefixMatches(before.slice(-k), words);
    if (close(whole)) return whole.at;
    if (part.of > 0 && close(part)) return words.length;
  }
  return 0;
}

function commonPrefix(a: Word[], b: Word[]): number {
  let n = 0;
  while (n < a.length && n < b.length && normalize(a[n]!.text) === normalize(b[n]!.text)) n++;
  return n;
}

/** A hypothesis that starts this soon after the last committed word may be re-hearing it. */
const ECHO_WINDOW_SECONDS = 1;
/** Committed words remembered across cuts and utterances, to recognise a redecode (or prompt echo) of them. */
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
   * The last words committed, kept across cuts and utterance commits: whisper, prompted with
   * them, may hear them again at the start of the next buffer, and they must not be re-emitted.
   */
  private recent: Word[] = [];

  /** Returns the newly committed words and the still-uncommitted tail of `hyp`. */
  update(hyp: Word[]): { committed: Word[]; tail: Word[] } {
    const { tail } = this.split(hyp);
    const agreed = commonPrefix(this.previousTail, tail);
    const committed = tail.slice(0, agreed);
    this.committed.push(...committed);
    this.remember(committed);
    this.previousTail = tail.slice(agreed);
    return { committed, tail: this.previousTail };
  }

  /**
   * Commits every uncommitted word of `hyp`, a decode of the buffer up to a cut: the end of an
   * utterance or of the session, or (`inSpeech`) a cut in long unbroken speech. Committed words
   * such a decode did not reach lie past that cut: they stay committed, so that the next buffer,
   * which starts at the cut, does not commit them again (librispeech: a VAD pause before "bosom"
   * and "bosom to connect her parent ..." twice). At the end of an utterance, a decode that heard
   * only the start of the latest partial (whisper stops early on some short buffers: JFK's "ask
   * what you can" for "ask what you can do for your country") commits the partial instead.
   */
  commitAll(hyp: Word[], inSpeech = false): Word[] {
    const { tail: heard, reached } = this.split(hyp);
    const extended = !inSpeech && commonPrefix(this.previousTail, heard) === heard.length && this.previousTail.length > heard.length;
    const tail = extended ? this.previousTail : heard;
    const carried = inSpeech ? this.committed.slice(reached) : [];
    this.reset();
    this.committed = carried;
    this.remember(tail);
    return tail;
  }

  /** The buffer was trimmed past everything committed: start afresh. */
  reset(): void {
    this.committed = [];
    this.previousTail = [];
  }

  private remember(words: Word[]): void {
    this.recent = [...this.recent, ...words].slice(-RECENT_WORDS);
  }

  /**
   * `heard` without what is already committed (and how many committed words it reached): past the
   * committed words still in the buffer (found by letter alignment), or past an echo of the latest
   * committed words at its start, whichever is further. The echo check covers words heard again
   * past a cut and before the committed ones (asterisk: "installed | and executed the" re-heard as
   * "installed and executed the", where the alignment alone found nothing and committed all four).
   */
  private split(heard: Word[]): { tail: Word[]; reached: number } {
    const hyp = withoutLoops(heard);
    const words = hyp.map((w) => normalize(w.text));
    const { skip, reached } = alignCommitted(this.committed.map((w) => normalize(w.text)), words);
    const last = this.recent.at(-1);
    const echo = last && hyp[0] && hyp[0].start <= last.end + ECHO_WINDOW_SECONDS ? echoOf(this.recent.map((w) => normalize(w.text)), words) : 0;
    return { tail: hyp.slice(Math.max(skip, echo)), reached };
  }
}
