import { open, rm, stat, type FileHandle } from "node:fs/promises";
import { BYTES_PER_SAMPLE, s16ToFloat32 } from "../audio/pcm.ts";
import type { PcmSource } from "../audio/spool.ts";
import { JobFailure } from "../jobs/pipeline.ts";

const POLL_MS = 200;

/**
 * A job's decoded audio as another replica writes it into the shared SPOOL_DIR: the file grows
 * while the upload decodes there; `decodeDone` (from the job's record) says it is complete.
 */
export class SharedSpool implements PcmSource {
  private bytes = 0;
  private complete = false;
  private handle: FileHandle | null = null;

  constructor(
    readonly file: string,
    /** Whether the uploading replica has said the audio is complete, as last read from Redis. */
    private readonly decodeDone: () => boolean,
    /** The job ended here: stop waiting. */
    private readonly stopped: () => boolean,
  ) {}

  get samples(): number {
    return Math.floor(this.bytes / BYTES_PER_SAMPLE);
  }

  get ended(): boolean {
    return this.complete;
  }

  async waitFor(samples: number): Promise<void> {
    for (;;) {
      await this.refresh();
      if (this.complete || this.samples >= samples || this.stopped()) return;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  async read(start: number, end: number): Promise<Float32Array> {
    this.handle ??= await open(this.file, "r");
    const length = Math.max(0, end - start) * BYTES_PER_SAMPLE;
    const buf = Buffer.alloc(length);
    const { bytesRead } = await this.handle.read(buf, 0, length, start * BYTES_PER_SAMPLE);
    return s16ToFloat32(buf.subarray(0, bytesRead));
  }

  async dispose(): Promise<void> {
    await this.handle?.close().catch(() => undefined);
    await rm(this.file, { force: true });
  }

  private async refresh(): Promise<void> {
    // Read "done" before the size: the file is final once the uploader said so.
    const done = this.decodeDone();
    const size = await stat(this.file).then((s) => s.size, () => null);
    if (size === null) throw new JobFailure("internal_error", "The job's decoded audio is missing on this replica: SPOOL_DIR must be a volume every replica shares.");
    this.bytes = size;
    this.complete = done;
  }
}
