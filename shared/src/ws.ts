import type { ErrorCode } from "./errors.ts";
import type { JobEvent } from "./events.ts";

/** Messages a client sends on `/ws`. */
export type WsClientMessage =
  | { type: "subscribe"; jobId: string; since?: number }
  | { type: "unsubscribe"; jobId: string };

/** Messages the server sends on `/ws`: job events, acknowledgements and request errors. */
export type WsServerMessage =
  | JobEvent
  | { type: "subscribed"; jobId: string; lastSeq: number }
  | { type: "unsubscribed"; jobId: string }
  | { type: "error"; code: ErrorCode; message: string; jobId?: string };

/** Close code the server uses when it shuts down (RFC 6455 "going away"). */
export const WS_CLOSE_GOING_AWAY = 1001;
/** Close code when a client cannot keep up with its events; it should reconnect with `since`. */
export const WS_CLOSE_TOO_SLOW = 4008;
