import type { Redis } from "ioredis";
import type { JobEventBody } from "@whisperrr/shared";
import type { EventSink } from "../events/log.ts";
import type { RedisKeys } from "./keys.ts";
import { ACTIVE_TTL_SECONDS } from "./keys.ts";
import { APPEND_ENDED, APPEND_FENCED, APPEND_MISSING, appendEvent } from "./scripts.ts";

export type Rejection = "ended" | "missing" | "fenced";

/**
 * A job's events written to its Redis stream. Subscribers, on any replica, read them from there
 * (cluster/follower.ts), so nothing is delivered that Redis did not accept. Appends go out in
 * order on one connection, so Redis numbers them in the order the job emitted them.
 */
export class RedisEventSink implements EventSink {
  lastSeq = 0;
  private last: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly jobId: string,
    /** The writer's attempt when it runs the job; 0 for the replica receiving the upload or a canceller. */
    readonly fence: number,
    private readonly endedTtl: number,
    private readonly onRejected: (why: Rejection, error?: unknown) => void,
  ) {}

  append(body: JobEventBody): void {
    // A failure was reported to onRejected already.
    this.write(body).catch(() => undefined);
  }

  /** Resolves once every event appended so far has been answered by Redis. */
  async settled(): Promise<void> {
    await this.last;
  }

  /** Appends and resolves with the seq (or a rejection code), or rejects when Redis is unreachable. */
  write(body: JobEventBody): Promise<number> {
    const written = this.send(body);
    this.last = written.catch(() => undefined);
    return written;
  }

  private async send(body: JobEventBody): Promise<number> {
    const json = JSON.stringify({ ...body, jobId: this.jobId, at: new Date().toISOString() });
    try {
      const seq = await appendEvent(this.redis, [this.keys.job(this.jobId), this.keys.events(this.jobId)], {
        fence: this.fence,
        type: body.type,
        json,
        segmentIndex: body.type === "segment" ? body.index : -1,
        endedTtl: this.endedTtl,
        activeTtl: ACTIVE_TTL_SECONDS,
      });
      if (seq > 0) this.lastSeq = seq;
      else if (seq === APPEND_ENDED) this.onRejected("ended");
      else if (seq === APPEND_MISSING) this.onRejected("missing");
      else if (seq === APPEND_FENCED) this.onRejected("fenced");
      return seq;
    } catch (err) {
      // Redis unreachable past the client's retries: the event is lost, so the job cannot go on here.
      this.onRejected("missing", err);
      throw err;
    }
  }
}
