import type { Job } from "./job.ts";

/**
 * FIFO in front of the model pool: at most `slots` jobs transcribe at once, the rest wait
 * in order and are told their position whenever it changes.
 */
export class Scheduler {
  private waiting: Job[] = [];
  private work = new Map<Job, () => Promise<void>>();
  private active = 0;
  private paused = false;

  constructor(private readonly slots: number) {}

  /** No waiting job starts any more (shutdown: only the running ones may finish). */
  pause(): void {
    this.paused = true;
  }

  get queued(): number {
    return this.waiting.length;
  }

  get running(): number {
    return this.active;
  }

  /** Queues `job`; `run` is called when a slot is free and the slot is held until it settles. */
  enqueue(job: Job, run: () => Promise<void>): void {
    this.waiting.push(job);
    this.work.set(job, run);
    // Every job's first event is `queued`, even when a slot is free right away.
    this.announcePositions();
    this.pump();
  }

  /** Takes a job out of the queue (cancelled or failed before it started). */
  remove(job: Job): boolean {
    const at = this.waiting.indexOf(job);
    if (at === -1) return false;
    this.waiting.splice(at, 1);
    this.work.delete(job);
    this.announcePositions();
    return true;
  }

  /** Jobs still waiting, oldest first (for shutdown). */
  drainQueue(): Job[] {
    const jobs = this.waiting;
    this.waiting = [];
    this.work.clear();
    return jobs;
  }

  private pump(): void {
    while (!this.paused && this.active < this.slots && this.waiting.length > 0) {
      const job = this.waiting.shift()!;
      const run = this.work.get(job)!;
      this.work.delete(job);
      this.active++;
      job.start();
      void run().finally(() => {
        this.active--;
        this.pump();
        this.announcePositions();
      });
    }
  }

  private announcePositions(): void {
    this.waiting.forEach((job, i) => job.setQueuePosition(i + 1));
  }
}
