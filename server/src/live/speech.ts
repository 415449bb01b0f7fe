import { SAMPLE_RATE } from "../audio/pcm.ts";
import { VAD_FRAME, VadStream } from "../audio/vad.ts";
import type { PcmBuffer } from "./buffer.ts";

/** Pause kept after an utterance's last speech frame, at most and at least. */
const UTTERANCE_TAIL = Math.round(0.5 * SAMPLE_RATE);
const MIN_UTTERANCE_TAIL = Math.round(0.2 * SAMPLE_RATE);
const ONSET_MARGIN = Math.round(0.15 * SAMPLE_RATE);
/** Two frames without speech: shorter dips in the VAD score happen inside words. */
const MIN_PAUSE = 2 * VAD_FRAME;

/**
 * Runs Silero VAD over the session audio as it arrives and remembers where speech was last
 * heard. Decoding is gated on it: stretches without speech never reach whisper, which would
 * otherwise invent words over silence and noise.
 */
export class SpeechTracker {
  /** Absolute sample up to which the VAD has looked. */
  analyzedTo = 0;
  /** Absolute sample where the last speech frame ended; -1 before any speech. */
  lastSpeechEnd = -1;
  /** Runs of non-speech frames after an utterance began, oldest first, as [start, end) samples. */
  private pauses: [number, number][] = [];
  private readonly vad = new VadStream();
  private running: Promise<void> | null = null;

  constructor(
    private readonly threshold: number,
    private readonly minSilenceSamples: number,
  ) {}

  /** Whether speech was heard in the buffer since `from` (absolute sample). */
  speechSince(from: number): boolean {
    return this.lastSpeechEnd > from;
  }

  /**
   * Where the current utterance ends, once a long enough pause followed it; null while it goes on.
   * The cut keeps up to UTTERANCE_TAIL of the pause: the VAD stops scoring speech before a word's
   * release (the "t" and the room's echo of JFK's "ask not" run ~0.4 s past its last speech frame),
   * and whisper garbles a word cut there. It stays ONSET_MARGIN short of what the VAD has seen, as
   * the VAD also scores the next word's onset late.
   */
  utteranceEnd(bufferStart: number): number | null {
    const silence = this.analyzedTo - this.lastSpeechEnd;
    if (!this.speechSince(bufferStart) || silence < this.minSilenceSamples) return null;
    const tail = Math.min(UTTERANCE_TAIL, Math.max(MIN_UTTERANCE_TAIL, silence - ONSET_MARGIN));
    return Math.min(this.analyzedTo, this.lastSpeechEnd + tail);
  }

  /**
   * The middle of the longest pause of at least MIN_PAUSE whose middle lies in [from, to] (absolute
   * samples), the latest of equals: a cut there falls between words, whatever whisper's word times
   * say. The longest, as short dips also come inside words (a stop consonant's closure), and
   * whisper misreads both halves of a word cut there (librispeech: "dishonoured | bosom" as
   * "dishonored. He was a bookbosum").
   */
  longestPause(from: number, to: number): number | null {
    let best: number | null = null;
    let longest = MIN_PAUSE - 1;
    for (const [start, end] of this.pauses) {
      const middle = Math.round((start + end) / 2);
      if (middle >= from && middle <= to && end - start >= longest) [best, longest] = [middle, end - start];
    }
    return best;
  }

  /** Pauses before `at` are no longer needed. */
  forgetBefore(at: number): void {
    while (this.pauses.length > 0 && this.pauses[0]![1] <= at) this.pauses.shift();
  }

  private scored(frameEnd: number, probability: number): void {
    this.analyzedTo = frameEnd;
    if (probability >= this.threshold) {
      this.lastSpeechEnd = frameEnd;
      return;
    }
    if (this.lastSpeechEnd < 0) return;
    const last = this.pauses.at(-1);
    if (last && last[1] === frameEnd - VAD_FRAME) last[1] = frameEnd;
    else this.pauses.push([frameEnd - VAD_FRAME, frameEnd]);
  }

  /**
   * Analyses every whole frame the buffer holds past `analyzedTo`; `onProgress` after each batch.
   * Concurrent calls fold into the running one (the LSTM state must see frames in order).
   */
  analyze(buffer: PcmBuffer, onProgress: () => void): Promise<void> {
    this.running ??= this.run(buffer, onProgress).finally(() => (this.running = null));
    return this.running;
  }

  /** At the end of the stream: a final partial frame is analysed padded with silence. */
  async finish(buffer: PcmBuffer, onProgress: () => void): Promise<void> {
    do await this.analyze(buffer, onProgress);
    while (buffer.end - this.analyzedTo >= VAD_FRAME);
    if (buffer.end <= this.analyzedTo) return;
    const frame = new Float32Array(VAD_FRAME);
    frame.set(buffer.slice(this.analyzedTo, buffer.end));
    this.scored(buffer.end, await this.vad.probability(frame));
  }

  private async run(buffer: PcmBuffer, onProgress: () => void): Promise<void> {
    while (buffer.end - this.analyzedTo >= VAD_FRAME) {
      const frame = buffer.slice(this.analyzedTo, this.analyzedTo + VAD_FRAME);
      this.scored(this.analyzedTo + VAD_FRAME, await this.vad.probability(frame));
      if (buffer.end - this.analyzedTo < VAD_FRAME) onProgress();
    }
  }
}
