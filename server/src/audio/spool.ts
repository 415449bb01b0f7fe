import { mkdir, open, rm, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { Writable } from "node:stream";
import { BYTES_PER_SAMPLE, s16ToFloat32 } from "./pcm.ts";

/** Decoded audio the transcriber reads windows from, possibly while it still grows. */
export interface PcmSource {
  readonly samples: number;
  readonly ended: boolean;
  /** Resolves once `samples` are available or no more will come. */
  waitFor(samples: number): Promise<void>;
  read(start: number, end: number): Promise<Float32Array>;
}

/** Where a job's decoded audio is spooled: replicas sharing SPOOL_DIR find it by job id. */
export const spoolFile = (dir: string, id: string) => path.join(dir, `${id}.s16`);

/**
 * Decoded audio on disk: the decoder appends, the transcriber reads windows behind it.
 * Memory stays flat whatever the file length; the file is deleted when the job ends.
 */
export class PcmSpool implements PcmSource {
  private bytes = 0;
  private finished = false;
  private waiters: (() => void)[] = [];
  /** Called after each chunk reaches the file, with the total samples spooled. */
  onAppend: (samples: number) => void = () => undefined;

  private constructor(
    readonly file: string,
    private readonly handle: FileHandle,
  ) {}

  static async create(dir: string, id: string): Promise<PcmSpool> {
    await mkdir(dir, { recursive: true });
    const file = spoolFile(dir, id);
    return new PcmSpool(file, await open(file, "w+"));
  }

  get samples(): number {
    return Math.floor(this.bytes / BYTES_PER_SAMPLE);
  }

  get ended(): boolean {
    return this.finished;
  }

  /** A stream the decoder's stdout pipes into; it applies backpressure through the disk write. */
  writable(): Writable {
    return new Writable({
      highWaterMark: 1 << 20,
      write: (chunk: Buffer, _enc, done) => {
        this.handle.write(chunk, 0, chunk.length, this.bytes).then(() => {
          this.bytes += chunk.length;
          this.onAppend(this.samples);
          this.wake();
          done();
        }, done);
      },
    });
  }

  /** No more audio will arrive (decoder finished or failed). */
  end(): void {
    this.finished = true;
    this.wake();
  }

  /** Resolves once `samples` are on disk or the spool has ended. */
  async waitFor(samples: number): Promise<void> {
    while (!this.finished && this.samples < samples) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  async read(start: number, end: number): Promise<Float32Array> {
    const length = Math.max(0, end - start) * BYTES_PER_SAMPLE;
    const buf = Buffer.alloc(length);
    const { bytesRead } = await this.handle.read(buf, 0, length, start * BYTES_PER_SAMPLE);
    return s16ToFloat32(buf.subarray(0, bytesRead));
  }

  /** Closes the file and leaves it on disk (another replica reads it). */
  async close(): Promise<void> {
    this.end();
    await this.handle.close().catch(() => undefined);
  }

  async dispose(): Promise<void> {
    await this.close();
    await rm(this.file, { force: true });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
