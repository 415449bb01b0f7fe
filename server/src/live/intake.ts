import { Writable } from "node:stream";
import type { LiveAudioFormat } from "@whisperrr/shared";
import { FfmpegDecoder, type DecodeFailure } from "../audio/decode.ts";

export interface IntakeEvents {
  pcm(samples: Float32Array): void;
  /** Everything written before end() has been delivered. */
  end(): void;
  failed(failure: DecodeFailure): void;
}

/** Turns the client's binary frames into 16 kHz mono float samples. */
export interface AudioIntake {
  write(bytes: Buffer): void;
  end(): void;
  destroy(): void;
}

export interface IntakeOptions {
  ffmpegPath: string;
  stallTimeoutMs: number;
}

export function createIntake(format: LiveAudioFormat, events: IntakeEvents, options: IntakeOptions): AudioIntake {
  if (format === "webm") return new FfmpegIntake(events, options);
  return new RawIntake(format === "s16le" ? 2 : 4, events);
}

/** Raw little-endian samples; a frame may end in the middle of a sample, so the rest is kept. */
export class RawIntake implements AudioIntake {
  private rest = Buffer.alloc(0);

  constructor(
    private readonly bytesPerSample: 2 | 4,
    private readonly events: IntakeEvents,
  ) {}

  write(bytes: Buffer): void {
    const all = this.rest.length ? Buffer.concat([this.rest, bytes]) : bytes;
    const whole = all.length - (all.length % this.bytesPerSample);
    this.rest = Buffer.from(all.subarray(whole));
    if (whole > 0) this.events.pcm(this.decode(all.subarray(0, whole)));
  }

  end(): void {
    this.events.end();
  }

  destroy(): void {
    this.rest = Buffer.alloc(0);
  }

  private decode(bytes: Buffer): Float32Array {
    const out = new Float32Array(bytes.length / this.bytesPerSample);
    if (this.bytesPerSample === 2) {
      for (let i = 0; i < out.length; i++) out[i] = bytes.readInt16LE(i * 2) / 32768;
      return out;
    }
    for (let i = 0; i < out.length; i++) {
      const v = bytes.readFloatLE(i * 4);
      // NaN or out-of-range floats from a buggy client must not reach whisper.
      out[i] = Number.isFinite(v) ? Math.max(-1, Math.min(1, v)) : 0;
    }
    return out;
  }
}

/**
 * A compressed stream (webm/opus from MediaRecorder, ogg…) decoded by the same ffmpeg wrapper as
 * file uploads, with the same restriction to reading its stdin only.
 */
class FfmpegIntake implements AudioIntake {
  private readonly decoder: FfmpegDecoder;
  private readonly raw: RawIntake;

  constructor(events: IntakeEvents, options: IntakeOptions) {
    this.raw = new RawIntake(2, { ...events, end: () => undefined });
    const output = new Writable({
      write: (chunk: Buffer, _enc, done) => {
        this.raw.write(chunk);
        done();
      },
    });
    this.decoder = new FfmpegDecoder(output, { ffmpegPath: options.ffmpegPath, stallTimeoutMs: options.stallTimeoutMs });
    let pending = 2;
    const onePartDone = () => void (--pending === 0 && events.end());
    output.on("finish", onePartDone);
    this.decoder.on("end", onePartDone);
    this.decoder.on("failed", (failure) => events.failed(failure));
  }

  write(bytes: Buffer): void {
    this.decoder.input.write(bytes);
  }

  end(): void {
    this.decoder.input.end();
  }

  destroy(): void {
    this.decoder.kill({ code: "internal_error", message: "live session closed" });
    this.decoder.input.destroy();
  }
}
