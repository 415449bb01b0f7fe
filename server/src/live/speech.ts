import { SAMPLE_RATE } from "../audio/pcm.ts";
import { VAD_FRAME, VadStream } from "../audio/vad.ts";
import type { PcmBuffer } from "./buffer.ts";

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

  /** Where the current utterance ended, once a long enough pause followed it; null while it goes on. */
  utteranceEnd(bufferStart: number): number | null {
    if (!this.speechSince(bufferStart) || this.analyzedTo - this.lastSpeechEnd < this.minSilenceSamples) return null;
    return Math.min(this.analyzedTo, this.lastSpeechEnd + Math.round(0.2 * SAMPLE_RATE));
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
    const probability = await this.vad.probability(frame);
    this.analyzedTo = buffer.end;
    if (probability >= this.threshold) this.lastSpeechEnd = buffer.end;
  }

  private async run(buffer: PcmBuffer, onProgress: () => void): Promise<void> {
    while (buffer.end - this.analyzedTo >= VAD_FRAME) {
      const frame = buffer.slice(this.analyzedTo, this.analyzedTo + VAD_FRAME);
      const probability = await this.vad.probability(frame);
      this.analyzedTo += VAD_FRAME;
      if (probability >= this.threshold) this.lastSpeechEnd = this.analyzedTo;
      if (buffer.end - this.analyzedTo < VAD_FRAME) onProgress();
    }
  }
}
