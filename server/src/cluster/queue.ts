import type { Redis } from "ioredis";
import { QUEUE_GROUP, type RedisKeys } from "./keys.ts";

export interface QueueEntry {
  entryId: string;
  jobId: string;
}

type StreamEntry = [id: string, fields: string[]];

const toEntry = ([entryId, fields]: StreamEntry): QueueEntry => ({ entryId, jobId: fields[fields.indexOf("job") + 1] ?? "" });

/**
 * The work queue: a Redis stream read by the consumer group `workers`, one consumer per replica.
 * XREADGROUP hands each entry to exactly one replica; the entry stays pending under that replica
 * until it acknowledges it. The replica renews its claim while it works (XCLAIM resets the
 * entry's idle time); an entry idle longer than the lease belongs to a dead replica and is
 * taken over with XAUTOCLAIM.
 */
export class WorkQueue {
  constructor(
    private readonly redis: Redis,
    /** A connection of its own for XREADGROUP BLOCK. */
    private readonly blocking: Redis,
    private readonly keys: RedisKeys,
    private readonly consumer: string,
  ) {}

  async init(): Promise<void> {
    try {
      await this.redis.xgroup("CREATE", this.keys.queue, QUEUE_GROUP, "0", "MKSTREAM");
    } catch (err) {
      if (!String(err).includes("BUSYGROUP")) throw err;
    }
  }

  async enqueue(jobId: string): Promise<void> {
    await this.redis.xadd(this.keys.queue, "*", "job", jobId);
  }

  /** The next new entry for this replica, waiting up to `blockMs`. */
  async take(blockMs: number): Promise<QueueEntry | null> {
    const result = (await this.blocking.xreadgroup("GROUP", QUEUE_GROUP, this.consumer, "COUNT", 1, "BLOCK", blockMs, "STREAMS", this.keys.queue, ">")) as
      | [string, StreamEntry[]][]
      | null;
    const entry = result?.[0]?.[1][0];
    return entry ? toEntry(entry) : null;
  }

  /** An entry whose replica has not renewed it for `leaseMs` (it died), now this replica's. */
  async reclaim(leaseMs: number): Promise<QueueEntry | null> {
    const [, entries] = (await this.redis.xautoclaim(this.keys.queue, QUEUE_GROUP, this.consumer, leaseMs, "0-0", "COUNT", 1)) as [string, StreamEntry[], string[]];
    const entry = entries.find((e) => e !== null);
    return entry ? toEntry(entry) : null;
  }

  /**
   * Resets the idle time of the entries this replica works on, among those the group still
   * assigns to it: one taken over by another replica (this one stalled past the lease) stays theirs.
   */
  async renew(entryIds: string[]): Promise<void> {
    if (entryIds.length === 0) return;
    const pending = (await this.redis.xpending(this.keys.queue, QUEUE_GROUP, "-", "+", 1000, this.consumer)) as [string, ...unknown[]][];
    const mine = new Set(pending.map(([id]) => id));
    const still = entryIds.filter((id) => mine.has(id));
    if (still.length > 0) await this.redis.xclaim(this.keys.queue, QUEUE_GROUP, this.consumer, 0, ...still, "JUSTID");
  }

  /** The job is done (or is no longer anyone's): its entry leaves the queue. */
  async ack(entryId: string): Promise<void> {
    await this.redis.multi().xack(this.keys.queue, QUEUE_GROUP, entryId).xdel(this.keys.queue, entryId).exec();
  }

  /** Gives a job back for another replica to take at once (graceful shutdown). */
  async requeue(entry: QueueEntry): Promise<void> {
    await this.redis.multi().xack(this.keys.queue, QUEUE_GROUP, entry.entryId).xdel(this.keys.queue, entry.entryId).xadd(this.keys.queue, "*", "job", entry.jobId).exec();
  }

  /** Entries no replica has taken yet, across the cluster. */
  async waiting(): Promise<number> {
    const [length, pending] = await Promise.all([this.redis.xlen(this.keys.queue), this.redis.xpending(this.keys.queue, QUEUE_GROUP)]);
    return Math.max(0, length - Number((pending as [number, ...unknown[]])[0] ?? 0));
  }
}
