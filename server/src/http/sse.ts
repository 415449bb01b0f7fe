import { isTerminalEvent } from "@whisperrr/shared";
import type { EventHub } from "../events/hub.ts";
import type { LoggedEvent } from "../events/log.ts";
import type { OpenJob } from "../jobs/backend.ts";
import { recordFanout, trackConnection } from "../metrics/track.ts";
import type { Reply } from "./respond.ts";

export interface SseOptions {
  heartbeatMs: number;
  /** Bytes queued for a client that does not read; past it the stream is closed (the client resumes with Last-Event-ID). */
  maxBufferedBytes: number;
}

export function formatSse(event: LoggedEvent): string {
  return `id: ${event.seq}\nevent: ${event.type}\ndata: ${event.json}\n\n`;
}

/** A text/event-stream response that honours backpressure: it queues while the socket is full and gives up past a cap. */
class SseStream {
  private pending: string[] = [];
  private pendingBytes = 0;
  private closed = false;
  private endWhenFlushed = false;

  constructor(
    private readonly reply: Reply,
    private readonly maxBufferedBytes: number,
    private readonly onClose: () => void,
  ) {
    reply.onAbort(() => this.shutdown());
  }

  write(text: string): void {
    if (this.closed || !this.reply.open) return;
    if (this.pending.length > 0) return this.enqueue(text);
    const res = this.reply.res;
    let ok = true;
    res.cork(() => (ok = res.write(text)));
    if (!ok) {
      this.enqueue("");
      res.onWritable(() => this.flush());
    }
  }

  end(): void {
    if (this.closed) return;
    if (this.pending.length > 0) {
      this.endWhenFlushed = true;
      return;
    }
    this.shutdown();
    if (this.reply.open) {
      this.reply.done = true;
      this.reply.res.cork(() => this.reply.res.end());
    }
  }

  private enqueue(text: string): void {
    this.pending.push(text);
    this.pendingBytes += text.length;
    if (this.pendingBytes > this.maxBufferedBytes) {
      this.shutdown();
      if (this.reply.open) {
        this.reply.done = true;
        this.reply.res.close();
      }
    }
  }

  private flush(): boolean {
    const res = this.reply.res;
    while (this.pending.length > 0 && !this.closed) {
      const next = this.pending.shift()!;
      this.pendingBytes -= next.length;
      let ok = true;
      res.cork(() => (ok = res.write(next)));
      if (!ok) return false;
    }
    if (this.endWhenFlushed) this.end();
    return true;
  }

  private shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = [];
    this.onClose();
  }
}

/**
 * Streams a job's events: everything after `since` from the log, then live events until the
 * terminal one. Replay and subscription happen in one tick, so nothing falls between them.
 */
export function streamJobEvents(reply: Reply, { job, release }: OpenJob, since: number, hub: EventHub, options: SseOptions): void {
  const { res } = reply;
  let unsubscribe = () => undefined as void;
  let heartbeat: NodeJS.Timeout | undefined;
  const untrack = trackConnection("sse");
  const stream = new SseStream(reply, options.maxBufferedBytes, () => {
    unsubscribe();
    clearInterval(heartbeat);
    untrack();
    release();
  });
  res.cork(() => {
    res.writeStatus("200 OK");
    res.writeHeader("Content-Type", "text/event-stream; charset=utf-8");
    res.writeHeader("Cache-Control", "no-cache, no-transform");
    res.writeHeader("X-Accel-Buffering", "no");
  });
  stream.write(": connected\n\n");
  const deliver = (event: LoggedEvent) => {
    stream.write(formatSse(event));
    if (isTerminalEvent(event)) stream.end();
  };
  for (const event of job.events.since(since)) deliver(event);
  if (job.ended) return stream.end();
  unsubscribe = hub.subscribe(job.id, (event) => {
    deliver(event);
    recordFanout("sse", event.json);
  });
  heartbeat = setInterval(() => stream.write(": heartbeat\n\n"), options.heartbeatMs);
}
