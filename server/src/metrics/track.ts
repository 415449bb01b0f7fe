import { connections, fanoutLag, liveSessions } from "./registry.ts";

export type Transport = "ws" | "sse";

/** Call when an event connection opens; call the returned function when it closes (extra calls are ignored). */
export function trackConnection(transport: Transport): () => void {
  connections.inc({ transport });
  return once(() => connections.dec({ transport }));
}

/** Call when a live microphone session starts; call the returned function when it ends (extra calls are ignored). */
export function trackLiveSession(): () => void {
  liveSessions.inc();
  return once(() => liveSessions.dec());
}

const AT_KEY = '"at":"';

/**
 * Records how long a serialised event waited between its emission and being written to a
 * live subscriber. `at` is the last key the event log writes, so it is found from the end
 * (a quote inside text is escaped and cannot match the key).
 */
export function recordFanout(transport: Transport, eventJson: string): void {
  const start = eventJson.lastIndexOf(AT_KEY);
  if (start === -1) return;
  const from = start + AT_KEY.length;
  const at = Date.parse(eventJson.slice(from, eventJson.indexOf('"', from)));
  if (!Number.isNaN(at)) fanoutLag.observe({ transport }, Math.max(0, Date.now() - at) / 1000);
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}
