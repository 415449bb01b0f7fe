/**
 * The session audio not yet committed, addressed by absolute sample index (0 = first sample of
 * the session). Fixed capacity: a sender that outruns transcription fills it and is refused.
 */
export class PcmBuffer {
  private readonly data: Float32Array;
  /** Absolute index of the first sample held. */
  start = 0;
  private length = 0;

  constructor(capacitySamples: number) {
    this.data = new Float32Array(capacitySamples);
  }

  /** Absolute index just past the last sample held (= samples received so far). */
  get end(): number {
    return this.start + this.length;
  }

  /** False (and nothing stored) when the samples do not fit. */
  append(pcm: Float32Array): boolean {
    if (this.length + pcm.length > this.data.length) return false;
    this.data.set(pcm, this.length);
    this.length += pcm.length;
    return true;
  }

  /** A copy of [from, to) in absolute samples, clamped to what is held. */
  slice(from: number, to: number): Float32Array {
    return this.data.slice(Math.max(0, from - this.start), Math.max(0, Math.min(this.length, to - this.start)));
  }

  /** Forgets everything before `at` (absolute). */
  trimTo(at: number): void {
    const drop = Math.min(this.length, Math.max(0, at - this.start));
    if (drop === 0) return;
    this.data.copyWithin(0, drop, this.length);
    this.length -= drop;
    this.start += drop;
  }
}
