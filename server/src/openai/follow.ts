import { isTerminalEvent, type JobEvent } from "@whisperrr/shared";
import type { EventHub } from "../events/hub.ts";
import type { JobHandle } from "../jobs/backend.ts";

/**
 * Calls `listener` with every event of the job, past then live, through the same log and hub
 * as SSE and WebSocket subscribers. Stops by itself after the terminal event; the returned
 * function stops earlier. `onStop` runs once either way.
 */
export function followJob(job: JobHandle, hub: EventHub, listener: (event: JobEvent) => void, onStop = () => {}): () => void {
  let unsubscribe = () => {};
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    unsubscribe();
    onStop();
  };
  const deliver = (json: string) => {
    if (stopped) return;
    const event = JSON.parse(json) as JobEvent;
    if (isTerminalEvent(event)) stop();
    listener(event);
  };
  for (const logged of job.events.since(0)) deliver(logged.json);
  if (!stopped) unsubscribe = hub.subscribe(job.id, (logged) => deliver(logged.json));
  return stop;
}
