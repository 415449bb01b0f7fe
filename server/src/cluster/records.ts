import type { Redis } from "ioredis";
import type { JobOptions, JobProgress, JobStatus } from "@whisperrr/shared";
import type { Checkpoint } from "../jobs/pipeline.ts";
import type { PipelineFacts } from "../jobs/progress.ts";
import { ACTIVE_TTL_SECONDS, type RedisKeys } from "./keys.ts";

/** What the replica receiving the upload tells the others about it. */
export type UploadFacts = Pick<PipelineFacts, "uploadDone" | "uploadedBytes" | "uploadTotalBytes" | "decodeDone" | "decodedSeconds" | "headerSeconds"> & {
  /** Multipart fields after the file have amended the options: transcription may start. */
  optionsFinal: boolean;
};

/** A job's hash in Redis, parsed. */
export interface JobRecord {
  id: string;
  options: JobOptions;
  createdAt: Date;
  status: JobStatus;
  /** How many replicas have taken the job (the fencing token of the current one). */
  attempt: number;
  /** REPLICA_ID of the replica receiving (or that received) the upload. */
  uploader: string;
  facts: UploadFacts;
  checkpoint: Checkpoint | null;
  progress: JobProgress | null;
  /** Why the last replica gave the job back, when it did so on purpose. */
  handback: string | null;
}

export async function createRecord(redis: Redis, keys: RedisKeys, id: string, options: JobOptions, uploader: string, facts: UploadFacts): Promise<Date> {
  const createdAt = new Date();
  await redis
    .multi()
    .hset(keys.job(id), {
      options: JSON.stringify(options),
      createdAt: createdAt.toISOString(),
      status: "queued",
      seq: 0,
      segments: 0,
      attempt: 0,
      uploader,
      facts: JSON.stringify(facts),
    })
    .expire(keys.job(id), ACTIVE_TTL_SECONDS)
    .exec();
  return createdAt;
}

export async function readRecord(redis: Redis, keys: RedisKeys, id: string): Promise<JobRecord | null> {
  const h = await redis.hgetall(keys.job(id));
  if (!h.status || !h.options) return null;
  const progress = h.progress ? (JSON.parse(h.progress) as JobProgress & { type?: string }) : null;
  if (progress) delete progress.type;
  return {
    id,
    options: JSON.parse(h.options) as JobOptions,
    createdAt: new Date(h.createdAt ?? Date.now()),
    status: h.status as JobStatus,
    attempt: Number(h.attempt ?? 0),
    uploader: h.uploader ?? "",
    facts: JSON.parse(h.facts ?? "{}") as UploadFacts,
    checkpoint: h.checkpoint ? (JSON.parse(h.checkpoint) as Checkpoint) : null,
    progress,
    handback: h.handback ?? null,
  };
}
