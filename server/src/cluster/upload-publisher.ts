import type { Redis } from "ioredis";
import { TERMINAL_STATUSES, type JobStatus } from "@whisperrr/shared";
import type { Job } from "../jobs/job.ts";
import type { RedisKeys } from "./keys.ts";
import type { UploadFacts } from "./records.ts";

interface Upload {
  optionsFinal: boolean;
  /** The facts last written, to skip writes when nothing changed. */
  written: string;
}

/**
 * The replica receiving an upload tells the replica transcribing it how far the upload and its
 * decoding are (the job's `facts` field), and learns from the record when the job was cancelled
 * elsewhere. An upload leaves this list once its audio is complete in the shared spool.
 */
export class UploadPublisher {
  private uploads = new Map<Job, Upload>();

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  get size(): number {
    return this.uploads.size;
  }

  add(job: Job, optionsFinal: boolean): void {
    this.uploads.set(job, { optionsFinal, written: "" });
  }

  optionsFinal(job: Job): void {
    const upload = this.uploads.get(job);
    if (upload) upload.optionsFinal = true;
  }

  cancelAll(reason: string): void {
    for (const job of this.uploads.keys()) job.cancel(reason);
  }

  async publish(): Promise<void> {
    await Promise.all([...this.uploads].map(([job, upload]) => this.publishOne(job, upload)));
  }

  private async publishOne(job: Job, upload: Upload): Promise<void> {
    const { uploadDone, uploadedBytes, uploadTotalBytes, decodeDone, decodedSeconds, headerSeconds } = job.facts;
    // Decoding ends only after the last byte arrived, possibly before the request handler marks the upload done.
    const facts: UploadFacts = { uploadDone: uploadDone || decodeDone, uploadedBytes, uploadTotalBytes, decodeDone, decodedSeconds, headerSeconds, optionsFinal: upload.optionsFinal };
    const json = JSON.stringify(facts);
    const key = this.keys.job(job.id);
    const write = this.redis.multi();
    // Options first in the same write: a transcriber that sees optionsFinal reads the amended options.
    if (json !== upload.written) write.hset(key, upload.optionsFinal ? { options: JSON.stringify(job.options), facts: json } : { facts: json });
    const replies = await write.hget(key, "status").exec();
    upload.written = json;
    const status = replies?.at(-1)?.[1] as string | null;
    if (status && TERMINAL_STATUSES.includes(status as JobStatus)) job.endedElsewhere(status as JobStatus);
    if (job.ended || decodeDone) this.uploads.delete(job);
  }
}
