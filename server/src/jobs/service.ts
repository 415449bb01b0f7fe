import { randomUUID } from "node:crypto";
import type { Writable } from "node:stream";
import type { JobOptions } from "@whisperrr/shared";
import type { EventHub } from "../events/hub.ts";
import { EventLog } from "../events/log.ts";
import type { Admission, CancelOutcome, JobBackend, OpenJob } from "./backend.ts";
import { Job } from "./job.ts";
import { startDecode, transcribe, type PipelineDeps } from "./pipeline.ts";
import { Scheduler } from "./scheduler.ts";
import { JobStore } from "./store.ts";

/** Longest wait for a cancelled job's current window to finish during shutdown. */
const WINDOW_SETTLE_MS = 120_000;

/** The job engine of a single process: jobs, events and the queue in memory. */
export class JobService implements JobBackend {
  readonly store: JobStore;
  private endHandlers: ((job: Job) => void)[] = [];
  private scheduler: Scheduler | null = null;
  private pipeline: PipelineDeps | null = null;
  private notReadyReason = "the speech model is loading";
  private draining = false;
  /** Jobs admitted whose decoder is still starting: counted as queued so a burst cannot overshoot MAX_QUEUE. */
  private starting = 0;

  constructor(
    private readonly hub: EventHub,
    private readonly maxQueue: number,
    ttlSeconds: number,
  ) {
    this.store = new JobStore(ttlSeconds * 1000);
  }

  /** Called once the model pool is loaded: from then on jobs are accepted. */
  ready(deps: PipelineDeps): void {
    this.pipeline = deps;
    this.scheduler = new Scheduler(deps.pool.size);
  }

  setNotReady(reason: string): void {
    this.notReadyReason = reason;
  }

  get isReady(): boolean {
    return this.scheduler !== null && !this.draining;
  }

  get readiness(): { ready: boolean; reason: string | null } {
    if (this.draining) return { ready: false, reason: "shutting down" };
    return this.scheduler ? { ready: true, reason: null } : { ready: false, reason: this.notReadyReason };
  }

  get queueDepth(): number {
    return this.scheduler?.queued ?? 0;
  }

  /** The loaded engine (model pool, ffmpeg), for live sessions; null until ready. */
  get engine(): PipelineDeps | null {
    return this.pipeline;
  }

  get runningCount(): number {
    return this.scheduler?.running ?? 0;
  }

  /** Loaded model contexts and how many are transcribing now (0 and 0 until ready). */
  get contexts(): { size: number; busy: number } {
    const pool = this.pipeline?.pool;
    return { size: pool?.size ?? 0, busy: pool?.busyCount ?? 0 };
  }

  admission(): Admission | null {
    if (this.draining) return { code: "shutting_down", message: "The server is shutting down; retry on another instance.", retryAfterSeconds: 5 };
    if (!this.scheduler) return { code: "not_ready", message: `Not ready: ${this.notReadyReason}.`, retryAfterSeconds: 5 };
    if (this.scheduler.queued + this.starting >= this.maxQueue) {
      return { code: "queue_full", message: `The queue is full (${this.maxQueue} jobs waiting); retry later.`, retryAfterSeconds: 10 };
    }
    return null;
  }

  async create(options: JobOptions, uploadTotalBytes: number | null, optionsFinal?: Promise<void>): Promise<{ job: Job; input: Writable }> {
    const deps = this.pipeline;
    const scheduler = this.scheduler;
    if (!deps || !scheduler) throw new Error("JobService.create before ready()");
    const id = randomUUID();
    const job = new Job(id, options, new EventLog(id, this.hub.publish));
    job.facts.uploadTotalBytes = uploadTotalBytes;
    this.store.add(job);
    this.starting++;
    const { input, spool } = await startDecode(job, deps).finally(() => this.starting--);
    job.onEnd(() => {
      scheduler.remove(job);
      for (const handler of this.endHandlers) handler(job);
    });
    const work = async () => {
      await optionsFinal;
      if (!job.ended) await transcribe(job, spool, deps);
    };
    scheduler.enqueue(job, work);
    deps.log.info({ jobId: job.id, stage: "queued", language: options.language, task: options.task }, "job created");
    return { job, input };
  }

  async open(id: string): Promise<OpenJob | null> {
    const job = this.store.get(id);
    return job ? { job, release: () => undefined } : null;
  }

  async cancel(id: string, reason?: string): Promise<CancelOutcome> {
    const job = this.store.get(id);
    if (!job) return null;
    if (!this.cancelJob(job, reason)) return { ended: job.status };
    return { cancelled: job.snapshot() };
  }

  onJobEnd(handler: (job: Job) => void): void {
    this.endHandlers.push(handler);
  }

  async close(): Promise<void> {}

  private cancelJob(job: Job, reason = "Cancelled by request."): boolean {
    if (job.ended) return false;
    job.cancel(reason);
    this.pipeline?.log.info({ jobId: job.id, stage: "cancelled" }, "job cancelled");
    return true;
  }

  sweep(): number {
    return this.store.sweep().length;
  }

  /** Stops admitting jobs and starting queued ones: only running jobs may still finish. */
  startDraining(): void {
    this.draining = true;
    this.scheduler?.pause();
  }

  /** Waits up to `graceMs` for the running jobs, then cancels whatever is left (queued ones included). */
  async drain(graceMs: number): Promise<void> {
    await this.whileRunning(graceMs);
    for (const job of this.unfinished()) this.cancelJob(job, "The server shut down before the job finished; submit it again.");
    // A cancelled job stops after the window whisper is decoding now; its context must not be freed under it.
    await this.whileRunning(WINDOW_SETTLE_MS);
  }

  private async whileRunning(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.runningCount > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  }

  private unfinished(): Job<EventLog>[] {
    return [...this.store.all()].filter((j) => !j.ended);
  }
}
