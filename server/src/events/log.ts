import type { JobEvent, JobEventBody } from "@whisperrr/shared";

/** An event serialised once, shared by every subscriber and transport. */
export interface LoggedEvent {
  seq: number;
  type: JobEvent["type"];
  json: string;
}

export type Publish = (jobId: string, event: LoggedEvent) => void;

/** A job's events in order: the replay source for late or reconnecting subscribers. */
export class EventLog {
  private entries: LoggedEvent[] = [];

  constructor(
    private readonly jobId: string,
    private readonly publish: Publish,
  ) {}

  get lastSeq(): number {
    return this.entries.length;
  }

  append(body: JobEventBody): JobEvent {
    const event = { ...body, jobId: this.jobId, seq: this.entries.length + 1, at: new Date().toISOString() } as JobEvent;
    const entry: LoggedEvent = { seq: event.seq, type: event.type, json: JSON.stringify(event) };
    this.entries.push(entry);
    this.publish(this.jobId, entry);
    return event;
  }

  /** Events with a sequence number greater than `seq`. */
  since(seq: number): LoggedEvent[] {
    return this.entries.slice(Math.max(0, seq));
  }
}
