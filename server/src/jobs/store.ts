import type { EventLog } from "../events/log.ts";
import type { Job } from "./job.ts";

type LocalJob = Job<EventLog>;

/** Jobs by id, in memory. Ended jobs are removed `ttlMs` after they end by `sweep`. */
export class JobStore {
  private jobs = new Map<string, LocalJob>();

  constructor(private readonly ttlMs: number) {}

  add(job: LocalJob): void {
    this.jobs.set(job.id, job);
  }

  get(id: string): LocalJob | undefined {
    return this.jobs.get(id);
  }

  get size(): number {
    return this.jobs.size;
  }

  all(): IterableIterator<LocalJob> {
    return this.jobs.values();
  }

  /** Removes jobs that ended more than the TTL ago; returns their ids. */
  sweep(now = Date.now()): string[] {
    const removed: string[] = [];
    for (const [id, job] of this.jobs) {
      if (job.endedAt && now - job.endedAt.getTime() >= this.ttlMs) {
        this.jobs.delete(id);
        removed.push(id);
      }
    }
    return removed;
  }
}
