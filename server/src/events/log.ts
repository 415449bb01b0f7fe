import type { JobEvent, JobEventBody } from "@whisperrr/shared";

/** An event serialised once, shared by every subscriber and transport. */
export interface LoggedEvent {
  seq: number;
  type: JobEvent["type"];
  json: string;
}

export type Publish = (jobId: string, event: LoggedEvent) => void;

/** Where a running job writes its events: in memory (EventLog) or to Redis (cluster/event-sink.ts). */
export interface EventSink {
  readonly lastSeq: number;
  append(body: JobEventBody): void;
}

/** What subscribers replay from: a job's events by sequence number. */
export interface ReplayLog {
  readonly lastSeq: number;
  since(seq: number): LoggedEvent[];
}

/** A job's events in order, in memory: the replay source for late or reconnecting subscribers. */
export class EventLog implements EventSink, ReplayLog {
  private entries: LoggedEvent[] = [];

  constructor(
    private readonly jobId: string,
    private readonly publish: Publish,
  ) {}

  get lastSeq(): number {
    return this.entries.length;
  }

  append(body: JobEventBody): void {
    const event = { ...body, jobId: this.jobId, seq: this.entries.length + 1, at: new Date().toISOString() } as JobEvent;
    const entry: LoggedEvent = { seq: event.seq, type: event.type, json: JSON.stringify(event) };
    this.entries.push(entry);
    this.publish(this.jobId, entry);
  }

  since(seq: number): LoggedEvent[] {
    return this.entries.slice(Math.max(0, seq));
  }
}
