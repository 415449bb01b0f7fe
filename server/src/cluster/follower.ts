import type { Redis } from "ioredis";
import { isTerminalEvent, type JobEvent, type JobStatus } from "@whisperrr/shared";
import type { EventHub } from "../events/hub.ts";
import type { LoggedEvent, ReplayLog } from "../events/log.ts";
import type { JobHandle, OpenJob } from "../jobs/backend.ts";
import type { Logger } from "../log.ts";
import type { RedisKeys } from "./keys.ts";
import { readRecord } from "./records.ts";
import { SnapshotBuilder } from "./snapshot.ts";

type StreamEntry = [id: string, fields: string[]];

/** A job's events copied from its Redis stream: what this replica's subscribers replay and follow. */
class JobMirror implements JobHandle, ReplayLog {
  private entries: LoggedEvent[] = [];
  private readonly builder: SnapshotBuilder;
  refs = 0;

  constructor(
    readonly id: string,
    builder: SnapshotBuilder,
  ) {
    this.builder = builder;
  }

  get events(): ReplayLog {
    return this;
  }

  get lastSeq(): number {
    return this.entries.length;
  }

  get status(): JobStatus {
    return this.builder.snapshot.status;
  }

  get ended(): boolean {
    return this.entries.length > 0 && isTerminalEvent(this.entries.at(-1)!);
  }

  since(seq: number): LoggedEvent[] {
    return this.entries.slice(Math.max(0, seq));
  }

  snapshot() {
    return structuredClone(this.builder.snapshot);
  }

  /** Adds entries in order; returns the ones that were new. */
  add(raw: StreamEntry[]): LoggedEvent[] {
    const added: LoggedEvent[] = [];
    for (const [, fields] of raw) {
      const json = fields[fields.indexOf("json") + 1]!;
      const event = JSON.parse(json) as JobEvent;
      if (event.seq !== this.entries.length + 1) continue;
      const logged: LoggedEvent = { seq: event.seq, type: event.type, json };
      this.entries.push(logged);
      this.builder.apply(event);
      added.push(logged);
    }
    return added;
  }
}

/**
 * Follows the Redis streams of the jobs this replica's subscribers watch, with one blocking
 * XREAD for all of them, and publishes what arrives to the local hub (uWS topics, SSE). A job is
 * loaded (record + past events) when first opened and followed until its last holder releases it.
 */
export class EventFollower {
  private mirrors = new Map<string, Promise<JobMirror | null>>();
  private loaded = new Map<string, JobMirror>();
  private stopped = false;
  private readerId: number | null = null;

  constructor(
    private readonly redis: Redis,
    /** A connection of its own: it spends its time blocked in XREAD. */
    private readonly reader: Redis,
    private readonly keys: RedisKeys,
    private readonly hub: EventHub,
    private readonly log: Logger,
  ) {
    reader.on("ready", () => void this.identify());
    void this.loop();
  }

  async open(id: string): Promise<OpenJob | null> {
    let pending = this.mirrors.get(id);
    if (!pending) {
      pending = this.load(id);
      this.mirrors.set(id, pending);
      pending.then((m) => (m ? undefined : this.mirrors.delete(id)), () => this.mirrors.delete(id));
    }
    const mirror = await pending;
    if (!mirror) return null;
    mirror.refs++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      if (--mirror.refs > 0) return;
      this.mirrors.delete(id);
      this.loaded.delete(id);
    };
    return { job: mirror, release };
  }

  /** Shutdown: the blocked XREAD returns and the loop ends. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.wake();
  }

  private async load(id: string): Promise<JobMirror | null> {
    const record = await readRecord(this.redis, this.keys, id);
    if (!record) return null;
    const mirror = new JobMirror(id, new SnapshotBuilder(id, record.options, record.createdAt));
    mirror.add((await this.redis.xrange(this.keys.events(id), "-", "+")) as StreamEntry[]);
    this.loaded.set(id, mirror);
    // The blocked XREAD does not know this stream yet: wake it so it reads from the new key too.
    await this.wake();
    return mirror;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const following = [...this.loaded.values()].filter((m) => !m.ended);
      if (following.length === 0) {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      try {
        const keys = following.map((m) => this.keys.events(m.id));
        const ids = following.map((m) => `0-${m.lastSeq}`);
        const result = (await this.reader.xread("BLOCK", 5000, "STREAMS", ...keys, ...ids)) as [string, StreamEntry[]][] | null;
        for (const [key, entries] of result ?? []) this.deliver(following[keys.indexOf(key)]!, entries);
      } catch (err) {
        if (this.stopped) return;
        this.log.warn({ err: String(err) }, "event follower: XREAD failed; retrying");
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  private deliver(mirror: JobMirror, entries: StreamEntry[]): void {
    for (const event of mirror.add(entries)) this.hub.publish(mirror.id, event);
  }

  private async identify(): Promise<void> {
    this.readerId = Number(await this.reader.client("ID").catch(() => null)) || null;
  }

  private async wake(): Promise<void> {
    if (this.readerId !== null) await this.redis.client("UNBLOCK", this.readerId).catch(() => undefined);
  }
}
