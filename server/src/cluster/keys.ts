/** Every Redis key Whisperrr uses, under one prefix (REDIS_PREFIX). */
export class RedisKeys {
  constructor(private readonly prefix: string) {}

  /** Hash: the job's options, status, sequence counter, upload facts and retry checkpoint. */
  job(id: string): string {
    return `${this.prefix}:job:${id}`;
  }

  /** Stream: the job's events; entry ids are `0-<seq>`, so any replica replays from a sequence number. */
  events(id: string): string {
    return `${this.prefix}:job:${id}:events`;
  }

  /** Stream read by the `workers` consumer group: one entry per job waiting for, or held by, a replica. */
  get queue(): string {
    return `${this.prefix}:queue`;
  }

  /** String with a TTL: present while the replica is alive. */
  replica(id: string): string {
    return `${this.prefix}:replica:${id}`;
  }
}

export const QUEUE_GROUP = "workers";

/** Keys of a job that has not ended yet live this long past its last event (a safety net if every replica died). */
export const ACTIVE_TTL_SECONDS = 86_400;
