import type { Redis } from "ioredis";
import { TERMINAL_STATUSES, type JobEvent, type JobOptions, type JobStatus, type SegmentEvent } from "@whisperrr/shared";
import { rm } from "node:fs/promises";
import { spoolFile } from "../audio/spool.ts";
import { uploadCopyFile } from "../audio/upload-copy.ts";
import { Job } from "../jobs/job.ts";
import { transcribe, type PipelineDeps } from "../jobs/pipeline.ts";
import { RedisEventSink, type Rejection } from "./event-sink.ts";
import type { RedisKeys } from "./keys.ts";
import type { QueueEntry, WorkQueue } from "./queue.ts";
import { readRecord, type JobRecord, type UploadFacts } from "./records.ts";
import { fencedSet, takeJob } from "./scripts.ts";
import { SharedSpool } from "./shared-spool.ts";

export interface WorkerOptions {
  replicaId: string;
  leaseMs: number;
  maxAttempts: number;
  endedTtlSeconds: number;
}

/** What the replica running a job reads back from Redis while it runs. */
const MONITOR_MS = 250;

interface Running {
  entry: QueueEntry;
  job: Job<RedisEventSink>;
}

const isTerminal = (status: string | null) => TERMINAL_STATUSES.includes(status as JobStatus);

/**
 * Takes jobs from the Redis queue while this replica has a free model context, and runs them:
 * the audio comes from the shared spool, events go to the job's stream, a checkpoint after each
 * window lets another replica resume the job if this one dies.
 */
export class ClusterWorker {
  readonly running = new Map<string, Running>();
  private taking = true;
  private slotFreed: () => void = () => undefined;
  private lastReclaim = 0;

  constructor(
    private readonly redis: Redis,
    private readonly queue: WorkQueue,
    private readonly keys: RedisKeys,
    private readonly deps: PipelineDeps,
    private readonly options: WorkerOptions,
    private readonly onEnd: (job: Job) => void,
  ) {}

  start(): void {
    void this.loop();
  }

  /** No new job is taken (shutdown). */
  stopTaking(): void {
    this.taking = false;
    this.slotFreed();
  }

  /** Renews this replica's claim on the entries it works on. */
  async renew(): Promise<void> {
    await this.queue.renew([...this.running.values()].map((r) => r.entry.entryId));
  }

  /** Shutdown: the running jobs stop here after their window and go back to the queue at once. */
  async handBack(reason: string): Promise<void> {
    for (const { entry, job } of [...this.running.values()]) {
      job.handOver();
      await fencedSet(this.redis, this.keys.job(entry.jobId), job.events.fence, { handback: reason });
      await this.queue.requeue(entry);
    }
  }

  private async loop(): Promise<void> {
    while (this.taking) {
      if (this.running.size >= this.deps.pool.size) {
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
        continue;
      }
      try {
        const entry = (await this.reclaimDue()) ?? (await this.queue.take(1000));
        if (entry && this.taking) void this.run(entry).catch((err: unknown) => this.deps.log.warn({ jobId: entry.jobId, err: String(err) }, "could not start the job; it stays in the queue for a retry"));
      } catch (err) {
        this.deps.log.warn({ err: String(err) }, "work queue unreachable; retrying");
        // A Redis that restarted empty has lost the consumer group as well.
        if (String(err).includes("NOGROUP")) await this.queue.init().catch(() => undefined);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  /** At most once per second: the oldest entry a dead replica left behind. */
  private async reclaimDue(): Promise<QueueEntry | null> {
    if (Date.now() - this.lastReclaim < 1000) return null;
    this.lastReclaim = Date.now();
    return this.queue.reclaim(this.options.leaseMs);
  }

  private async run(entry: QueueEntry): Promise<void> {
    const attempt = await takeJob(this.redis, this.keys.job(entry.jobId));
    const record = attempt > 0 ? await readRecord(this.redis, this.keys, entry.jobId) : null;
    if (!record || isTerminal(record.status)) {
      // Cancelled while queued, or expired: nothing to run, only the queue entry and audio to drop.
      await this.queue.ack(entry.entryId);
      await new SharedSpool(spoolFile(this.deps.config.spoolDir, entry.jobId), () => true, () => true).dispose();
      return;
    }
    const job = await this.restore(record, attempt);
    try {
      await this.execute(entry, record, job);
    } catch (err) {
      // Redis failed under the job: stop here without acknowledging, so the lease runs out and it is retried.
      this.deps.log.warn({ jobId: job.id, err: String(err) }, "job stopped here after a Redis error; it will be retried");
      job.handOver();
    }
  }

  private async execute(entry: QueueEntry, record: JobRecord, job: Job<RedisEventSink>): Promise<void> {
    const attempt = job.events.fence;
    let facts = record.facts;
    const spool = new SharedSpool(spoolFile(this.deps.config.spoolDir, job.id), () => facts.decodeDone, () => job.ended);
    this.running.set(job.id, { entry, job });
    job.onEnd(() => {
      this.running.delete(job.id);
      this.slotFreed();
      this.onEnd(job);
      if (job.handedOver) return;
      // The terminal event is appended right after onEnd handlers run: acknowledge once it is in Redis.
      queueMicrotask(() => void this.release(job, entry, spool));
    });
    this.deps.log.info({ jobId: job.id, stage: "queued", attempt, replica: this.options.replicaId }, attempt > 1 ? "job resumed" : "job taken");
    if (attempt > this.options.maxAttempts) {
      return job.fail("worker_lost", `The replicas running this job stopped ${attempt - 1} times (MAX_JOB_ATTEMPTS=${this.options.maxAttempts}); submit it again.`);
    }
    if (attempt > 1) await this.announceRetry(job, record.handback);
    job.start();
    const monitor = setInterval(() => void this.monitor(job, record.uploader, (f) => (facts = f)), MONITOR_MS);
    job.onEnd(() => clearInterval(monitor));
    await this.until(() => facts.optionsFinal || job.ended);
    if (job.ended) return;
    await transcribe(job, spool, this.deps, record.checkpoint ?? undefined, async (checkpoint) => {
      const saved = await fencedSet(this.redis, this.keys.job(job.id), attempt, { checkpoint: JSON.stringify(checkpoint) }).catch(() => false);
      // Taken over elsewhere, or Redis unreachable: this replica stops; the holder (or a retry) goes on.
      if (!saved) job.handOver();
    });
  }

  private async announceRetry(job: Job<RedisEventSink>, handback: string | null): Promise<void> {
    const reason = handback ?? "The replica running the job stopped responding; another one resumes it after the last finished window.";
    // A later retry must not repeat this hand-back's reason.
    if (handback) await this.redis.hdel(this.keys.job(job.id), "handback");
    await job.events.write({ type: "retrying", attempt: job.events.fence, reason });
  }

  /** A Job object that continues where the record says: the segments before the checkpoint, the language, the upload facts. */
  private async restore(record: JobRecord, attempt: number): Promise<Job<RedisEventSink>> {
    let job: Job<RedisEventSink> | null = null;
    const onRejected = (why: Rejection) => {
      if (!job || job.ended) return;
      this.deps.log.warn({ jobId: record.id, why, attempt }, "job stopped here: its record refused an event");
      if (why === "ended") job.endedElsewhere("cancelled");
      else job.handOver();
    };
    const sink = new RedisEventSink(this.redis, this.keys, record.id, attempt, this.options.endedTtlSeconds, onRejected);
    job = new Job(record.id, record.options, sink, record.createdAt);
    Object.assign(job.facts, record.facts);
    if (record.progress) job.progress = record.progress;
    const checkpoint = record.checkpoint;
    if (checkpoint) {
      job.facts.transcribedSeconds = checkpoint.start / 16_000;
      if (record.options.language === "auto" && checkpoint.language !== "auto") job.language = checkpoint.language;
      const events = (await this.redis.xrange(this.keys.events(record.id), "-", "+")) as [string, string[]][];
      for (const [, fields] of events) {
        const event = JSON.parse(fields[fields.indexOf("json") + 1]!) as JobEvent;
        if (event.type === "segment" && event.index < checkpoint.segments) job.segments.push(segmentOf(event));
      }
    }
    return job;
  }

  /** Follows the job's record: ended or taken over elsewhere, upload facts, amended options, a dead uploader. */
  private async monitor(job: Job<RedisEventSink>, uploader: string, setFacts: (f: UploadFacts) => void): Promise<void> {
    if (job.ended) return;
    const replies = await this.redis
      .multi()
      .hmget(this.keys.job(job.id), "status", "attempt", "facts", "options")
      .exists(this.keys.replica(uploader))
      .exec()
      .catch(() => null);
    if (!replies || job.ended) return;
    const [status = null, attempt, rawFacts, rawOptions] = replies[0]![1] as (string | null)[];
    const uploaderAlive = replies[1]![1] === 1;
    if (status === null) return job.handOver();
    if (isTerminal(status)) return job.endedElsewhere(status as JobStatus);
    if (Number(attempt) !== job.events.fence) return job.handOver();
    const facts = JSON.parse(rawFacts ?? "{}") as UploadFacts;
    setFacts(facts);
    if (facts.optionsFinal && rawOptions) Object.assign(job.options, JSON.parse(rawOptions) as JobOptions);
    const { optionsFinal: _, ...pipelineFacts } = facts;
    Object.assign(job.facts, pipelineFacts);
    job.reportProgress();
    if (!facts.decodeDone && !uploaderAlive) {
      job.fail("upload_aborted", "The replica receiving the upload stopped before the upload finished; submit it again.");
    }
  }

  private async release(job: Job<RedisEventSink>, entry: QueueEntry, spool: SharedSpool): Promise<void> {
    try {
      await job.events.settled();
      await this.queue.ack(entry.entryId);
      await spool.dispose();
      // Left behind only when the replica receiving the upload died before it finished.
      await rm(uploadCopyFile(this.deps.config.spoolDir, job.id), { force: true });
    } catch (err) {
      this.deps.log.warn({ jobId: job.id, err: String(err) }, "could not acknowledge the finished job; another replica will find it ended");
    }
  }

  private async until(condition: () => boolean): Promise<void> {
    while (!condition()) await new Promise((r) => setTimeout(r, MONITOR_MS));
  }
}

function segmentOf(event: SegmentEvent) {
  const { index, start, end, text, words } = event;
  return { index, start, end, text, ...(words ? { words } : {}) };
}
