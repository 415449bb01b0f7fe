import { randomUUID } from "node:crypto";
import type { Writable } from "node:stream";
import type { Redis } from "ioredis";
import type { JobOptions } from "@whisperrr/shared";
import type { Config } from "../config.ts";
import type { EventHub } from "../events/hub.ts";
import type { Admission, CancelOutcome, JobBackend, OpenJob } from "../jobs/backend.ts";
import { Job } from "../jobs/job.ts";
import { startDecode, type PipelineDeps } from "../jobs/pipeline.ts";
import type { Logger } from "../log.ts";
import { COMMAND_TIMEOUT_MS, connectRedis } from "./connection.ts";
import { RedisEventSink } from "./event-sink.ts";
import { EventFollower } from "./follower.ts";
import { RedisKeys } from "./keys.ts";
import { WorkQueue } from "./queue.ts";
import { createRecord, type UploadFacts } from "./records.ts";
import { APPEND_ENDED, APPEND_MISSING } from "./scripts.ts";
import { UploadPublisher } from "./upload-publisher.ts";
import { ClusterWorker } from "./worker.ts";

/** Longest wait for the windows of handed-back jobs to finish during shutdown. */
const WINDOW_SETTLE_MS = 120_000;

/**
 * The job engine of one replica among N (REDIS_URL set): job records, events and the work queue
 * live in Redis, so any replica answers for any job, and a job whose replica dies is resumed by
 * another. Uploads are decoded by the replica that receives them into the shared SPOOL_DIR.
 */
export class ClusterJobService implements JobBackend {
  private readonly redis: Redis;
  private readonly connections: Redis[];
  private readonly keys: RedisKeys;
  private readonly queue: WorkQueue;
  private readonly follower: EventFollower;
  private readonly uploads: UploadPublisher;
  private worker: ClusterWorker | null = null;
  private pipeline: PipelineDeps | null = null;
  private notReadyReason = "the speech model is loading";
  private draining = false;
  private waitingJobs = 0;
  private endHandlers: ((job: Job) => void)[] = [];
  private timers: NodeJS.Timeout[] = [];
  /** When Redis last answered the once-a-second queue poll: a hung Redis stays "connected". */
  private answeredAt = Date.now();

  constructor(
    private readonly config: Config & { redisUrl: string },
    hub: EventHub,
    private readonly log: Logger,
  ) {
    this.redis = connectRedis(config.redisUrl, `${config.replicaId}:commands`, log);
    const reader = connectRedis(config.redisUrl, `${config.replicaId}:events`, log, true);
    const blocking = connectRedis(config.redisUrl, `${config.replicaId}:queue`, log, true);
    this.connections = [this.redis, reader, blocking];
    this.keys = new RedisKeys(config.redisPrefix);
    this.queue = new WorkQueue(this.redis, blocking, this.keys, config.replicaId);
    this.follower = new EventFollower(this.redis, reader, this.keys, hub, log);
    this.uploads = new UploadPublisher(this.redis, this.keys);
    this.every(config.redisLeaseSeconds * 333, () => this.heartbeat());
    this.every(1000, async () => {
      await this.redis.ping();
      this.answeredAt = Date.now();
      this.waitingJobs = await this.queue.waiting();
    });
    this.every(250, () => this.uploads.publish());
  }

  ready(deps: PipelineDeps): void {
    this.pipeline = deps;
    void this.queue.init().then(
      () => {
        this.worker = new ClusterWorker(this.redis, this.queue, this.keys, deps, {
          replicaId: this.config.replicaId,
          leaseMs: this.config.redisLeaseSeconds * 1000,
          maxAttempts: this.config.maxJobAttempts,
          endedTtlSeconds: this.config.jobTtlSeconds,
        }, (job) => this.ended(job));
        this.worker.start();
      },
      (err: unknown) => this.setNotReady(`the Redis work queue could not be set up: ${String(err)}`),
    );
  }

  setNotReady(reason: string): void {
    this.notReadyReason = reason;
  }

  get readiness(): { ready: boolean; reason: string | null } {
    if (this.draining) return { ready: false, reason: "shutting down" };
    if (this.redis.status !== "ready") return { ready: false, reason: `Redis is unreachable (${this.redis.status})` };
    const silent = Date.now() - this.answeredAt;
    if (silent > COMMAND_TIMEOUT_MS) return { ready: false, reason: `Redis has not answered for ${Math.round(silent / 1000)} s` };
    return this.worker ? { ready: true, reason: null } : { ready: false, reason: this.notReadyReason };
  }

  get isReady(): boolean {
    return this.readiness.ready;
  }

  get queueDepth(): number {
    return this.waitingJobs;
  }

  get runningCount(): number {
    return this.worker?.running.size ?? 0;
  }

  get contexts(): { size: number; busy: number } {
    const pool = this.pipeline?.pool;
    return { size: pool?.size ?? 0, busy: pool?.busyCount ?? 0 };
  }

  get engine(): PipelineDeps | null {
    return this.pipeline;
  }

  admission(): Admission | null {
    const { ready, reason } = this.readiness;
    if (this.draining) return { code: "shutting_down", message: "The server is shutting down; retry on another instance.", retryAfterSeconds: 5 };
    if (!ready) return { code: "not_ready", message: `Not ready: ${reason}.`, retryAfterSeconds: 5 };
    if (this.waitingJobs >= this.config.maxQueue) {
      return { code: "queue_full", message: `The queue is full (${this.config.maxQueue} jobs waiting); retry later.`, retryAfterSeconds: 10 };
    }
    return null;
  }

  async create(options: JobOptions, uploadTotalBytes: number | null, optionsFinal?: Promise<void>): Promise<{ job: Job; input: Writable }> {
    const deps = this.pipeline;
    if (!deps) throw new Error("ClusterJobService.create before ready()");
    const id = randomUUID();
    const facts: UploadFacts = { uploadDone: false, uploadedBytes: 0, uploadTotalBytes, decodeDone: false, decodedSeconds: 0, headerSeconds: null, optionsFinal: !optionsFinal };
    const createdAt = await createRecord(this.redis, this.keys, id, options, this.config.replicaId, facts);
    let job: Job<RedisEventSink> | null = null;
    const sink = new RedisEventSink(this.redis, this.keys, id, 0, this.config.jobTtlSeconds, (why) => {
      if (why === "ended") job?.endedElsewhere("cancelled");
    });
    job = new Job(id, options, sink, createdAt);
    job.facts.uploadTotalBytes = uploadTotalBytes;
    job.setQueuePosition(this.waitingJobs + 1);
    const { input } = await startDecode(job, deps, true);
    this.uploads.add(job, !optionsFinal);
    const uploading = job;
    job.onEnd(() => this.ended(uploading));
    void optionsFinal?.then(() => this.uploads.optionsFinal(uploading));
    await this.queue.enqueue(id);
    // Counted at once (the next refresh from Redis corrects it), so a burst cannot overshoot MAX_QUEUE.
    this.waitingJobs++;
    deps.log.info({ jobId: id, stage: "queued", language: options.language, task: options.task, replica: this.config.replicaId }, "job created");
    return { job, input };
  }

  open(id: string): Promise<OpenJob | null> {
    return this.follower.open(id);
  }

  async cancel(id: string, reason = "Cancelled by request."): Promise<CancelOutcome> {
    const sink = new RedisEventSink(this.redis, this.keys, id, 0, this.config.jobTtlSeconds, () => undefined);
    const seq = await sink.write({ type: "cancelled", reason });
    if (seq === APPEND_MISSING) return null;
    const found = await this.follower.open(id);
    if (!found) return null;
    try {
      if (seq === APPEND_ENDED) return { ended: found.job.status };
      this.log.info({ jobId: id, stage: "cancelled" }, "job cancelled");
      return { cancelled: { ...found.job.snapshot(), status: "cancelled" } };
    } finally {
      found.release();
    }
  }

  onJobEnd(handler: (job: Job) => void): void {
    this.endHandlers.push(handler);
  }

  /** Redis expires ended jobs itself (JOB_TTL_SECONDS on their keys). */
  sweep(): number {
    return 0;
  }

  startDraining(): void {
    this.draining = true;
    this.worker?.stopTaking();
  }

  /**
   * Running jobs get `graceMs`; what is left goes back to the queue for another replica (resumed
   * after its last finished window). Uploads cannot move: they get the grace, then are cancelled.
   */
  async drain(graceMs: number): Promise<void> {
    const deadline = Date.now() + graceMs;
    while ((this.runningCount > 0 || this.uploads.size > 0) && Date.now() < deadline) await sleep(100);
    await this.worker?.handBack("The replica running the job shut down; another one resumes it after the last finished window.");
    this.uploads.cancelAll("The server shut down before the upload finished; submit it again.");
    const settle = Date.now() + WINDOW_SETTLE_MS;
    // A handed-back job's window may still be in whisper: its context must not be freed under it.
    while ((this.pipeline?.pool.busyCount ?? 0) > 0 && Date.now() < settle) await sleep(100);
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    await this.follower.stop();
    await this.redis.del(this.keys.replica(this.config.replicaId)).catch(() => undefined);
    for (const connection of this.connections) connection.disconnect();
  }

  private ended(job: Job): void {
    for (const handler of this.endHandlers) handler(job);
  }

  /** Says this replica is alive (uploads it receives are not abandoned) and renews its claim on its running jobs. */
  private async heartbeat(): Promise<void> {
    await this.redis.set(this.keys.replica(this.config.replicaId), "1", "PX", this.config.redisLeaseSeconds * 1000);
    await this.worker?.renew();
  }

  private every(ms: number, task: () => Promise<void>): void {
    const run = () => void task().catch((err: unknown) => this.log.debug({ err: String(err) }, "redis housekeeping failed"));
    run();
    this.timers.push(setInterval(run, ms));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
