import { createWriteStream, type WriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import path from "node:path";
import { PassThrough, type Writable } from "node:stream";

/** Where a job's upload copy lives (Redis mode: a replica cleans up after one that died). */
export const uploadCopyFile = (dir: string, id: string) => path.join(dir, `${id}.upload`);

/**
 * Keeps a copy of the uploaded bytes on disk while they stream to ffmpeg: MP4/MOV files whose
 * index sits at the end cannot be decoded from a pipe and are decoded again from this copy.
 */
export class UploadCopy {
  readonly file: string;
  private stream: WriteStream;
  readonly complete: Promise<void>;

  constructor(dir: string, id: string) {
    this.file = uploadCopyFile(dir, id);
    this.stream = createWriteStream(this.file);
    this.complete = new Promise((resolve, reject) => {
      this.stream.on("finish", resolve);
      this.stream.on("error", reject);
    });
    this.complete.catch(() => undefined);
  }

  /** A stream whose bytes go both to the copy and to `target`; piping waits for the slower of the two. */
  tee(target: Writable): Writable {
    const tee = new PassThrough({ highWaterMark: 1 << 20 });
    tee.pipe(this.stream);
    tee.pipe(target);
    tee.on("close", () => {
      if (!tee.writableFinished) target.destroy();
    });
    return tee;
  }

  async dispose(): Promise<void> {
    this.stream.destroy();
    await rm(this.file, { force: true });
  }
}
