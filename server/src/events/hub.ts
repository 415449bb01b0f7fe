import type { LoggedEvent } from "./log.ts";

export type Listener = (event: LoggedEvent) => void;

/**
 * Routes each job's events to its subscribers. Transports with their own fan-out (uWS topics)
 * register a sink that sees every event; per-connection transports (SSE) subscribe per job.
 */
export class EventHub {
  private listeners = new Map<string, Set<Listener>>();
  private sinks: ((jobId: string, event: LoggedEvent) => void)[] = [];

  addSink(sink: (jobId: string, event: LoggedEvent) => void): void {
    this.sinks.push(sink);
  }

  subscribe(jobId: string, listener: Listener): () => void {
    let set = this.listeners.get(jobId);
    if (!set) this.listeners.set(jobId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(jobId);
    };
  }

  readonly publish = (jobId: string, event: LoggedEvent): void => {
    for (const sink of this.sinks) sink(jobId, event);
    const set = this.listeners.get(jobId);
    if (set) for (const listener of [...set]) listener(event);
  };

  subscriberCount(jobId: string): number {
    return this.listeners.get(jobId)?.size ?? 0;
  }
}
