import {
  JOB_EVENT_TYPES,
  isTerminalEvent,
  type ErrorCode,
  type JobEvent,
  type WsClientMessage,
  type WsServerMessage,
} from "@whisperrr/shared";

/**
 * Follows one job's events: WebSocket first, Server-Sent Events when the socket cannot connect
 * or drops. Every (re)connection resumes after the last sequence number delivered, and events
 * are delivered exactly once, in order.
 */

export type ConnectionState = "connecting" | "websocket" | "sse" | "reconnecting" | "closed";

/** Why a feed gave up: a refusal from the server, or too many failed reconnections. */
export interface FeedProblem {
  code: ErrorCode | "connection_lost";
  message: string;
}

export interface FeedHandlers {
  event(event: JobEvent): void;
  state(state: ConnectionState): void;
  problem(problem: FeedProblem): void;
}

/** The parts of the browser's WebSocket the feed uses (tests pass fakes). */
export interface SocketLike {
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(): void;
}

/** The parts of the browser's EventSource the feed uses. */
export interface StreamLike {
  onopen: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  addEventListener(type: string, listener: (ev: { data: string }) => void): void;
  close(): void;
}

export interface FeedOptions {
  /** `http(s)://host:port` the API lives on. */
  origin: string;
  /** Sent as `access_token` (sockets and event streams cannot carry an Authorization header). */
  accessToken?: string | null;
  /** Last sequence number already seen. */
  since?: number;
  openSocket?: (url: string) => SocketLike;
  openStream?: (url: string) => StreamLike;
  /** Wait before reconnection attempt n (the last value repeats). */
  retryDelaysMs?: readonly number[];
  /** A socket that is not subscribed within this time counts as unable to connect. */
  connectTimeoutMs?: number;
  /** Failed reconnections in a row before the feed gives up. */
  maxAttempts?: number;
}

const DEFAULT_DELAYS = [0, 500, 1000, 2000, 4000, 8000];

export class JobFeed {
  private lastSeq: number;
  private useSocket = true;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private detach: (() => void) | null = null;
  private ended = false;

  constructor(
    readonly jobId: string,
    private readonly handlers: FeedHandlers,
    private readonly options: FeedOptions,
  ) {
    this.lastSeq = options.since ?? 0;
    this.handlers.state("connecting");
    this.connect();
  }

  /** Sequence number of the last event delivered. */
  get seq(): number {
    return this.lastSeq;
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.timer);
    this.detach?.();
    this.detach = null;
    this.handlers.state("closed");
  }

  private connect(): void {
    if (this.ended) return;
    if (this.useSocket) this.connectSocket();
    else this.connectStream();
  }

  private query(): string {
    const token = this.options.accessToken;
    return token ? `access_token=${encodeURIComponent(token)}` : "";
  }

  private connectSocket(): void {
    const open = this.options.openSocket ?? ((url: string) => new WebSocket(url) as unknown as SocketLike);
    const query = this.query();
    const url = `${this.options.origin.replace(/^http/, "ws")}/ws${query ? `?${query}` : ""}`;
    let ws: SocketLike;
    try {
      ws = open(url);
    } catch {
      return this.lost();
    }
    const timeout = setTimeout(() => this.lost(), this.options.connectTimeoutMs ?? 5000);
    this.detach = () => {
      clearTimeout(timeout);
      ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
      ws.close();
    };
    ws.onopen = () => {
      const subscribe: WsClientMessage = { type: "subscribe", jobId: this.jobId, since: this.lastSeq };
      ws.send(JSON.stringify(subscribe));
    };
    ws.onmessage = (ev) => {
      const msg = parse<WsServerMessage>(ev.data);
      if (!msg) return;
      if (msg.type === "subscribed") {
        clearTimeout(timeout);
        this.handlers.state("websocket");
      } else if (msg.type === "error") {
        if (msg.jobId === undefined || msg.jobId === this.jobId) this.refused(msg.code, msg.message);
      } else if ("seq" in msg) this.accept(msg);
    };
    ws.onclose = () => this.lost();
  }

  private connectStream(): void {
    const open = this.options.openStream ?? ((url: string) => new EventSource(url) as unknown as StreamLike);
    const query = this.query();
    const url = `${this.options.origin}/api/jobs/${this.jobId}/events?lastEventId=${this.lastSeq}${query ? `&${query}` : ""}`;
    let es: StreamLike;
    try {
      es = open(url);
    } catch {
      return this.lost();
    }
    this.detach = () => {
      es.onopen = es.onerror = null;
      es.close();
    };
    es.onopen = () => this.handlers.state("sse");
    for (const type of JOB_EVENT_TYPES) {
      es.addEventListener(type, (ev) => {
        const event = parse<JobEvent>(ev.data);
        if (event) this.accept(event);
      });
    }
    // EventSource would retry by itself with the id it saw; reconnecting here keeps one policy for both transports.
    es.onerror = () => this.lost();
  }

  private accept(event: JobEvent): void {
    if (this.ended || event.jobId !== this.jobId || event.seq <= this.lastSeq) return;
    // A gap means a lost event: resubscribe from the last one delivered rather than skip it.
    if (event.seq !== this.lastSeq + 1) return this.lost();
    this.lastSeq = event.seq;
    this.attempt = 0;
    this.handlers.event(event);
    if (isTerminalEvent(event)) this.close();
  }

  private refused(code: ErrorCode, message: string): void {
    this.close();
    this.handlers.problem({ code, message });
  }

  /** The connection failed or dropped: fall back to SSE and try again after a growing delay. */
  private lost(): void {
    if (this.ended) return;
    this.detach?.();
    this.detach = null;
    this.useSocket = false;
    const delays = this.options.retryDelaysMs ?? DEFAULT_DELAYS;
    if (this.attempt >= (this.options.maxAttempts ?? 12)) {
      this.close();
      this.handlers.problem({ code: "connection_lost", message: "Lost the connection to the server; reload the page to try again." });
      return;
    }
    const delay = delays[Math.min(this.attempt, delays.length - 1)] ?? 0;
    this.attempt += 1;
    this.handlers.state("reconnecting");
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }
}

function parse<T>(data: unknown): T | null {
  if (typeof data !== "string") return null;
  try {
    const value: unknown = JSON.parse(data);
    return typeof value === "object" && value !== null ? (value as T) : null;
  } catch {
    return null;
  }
}
