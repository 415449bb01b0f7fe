import type { HttpResponse } from "uWebSockets.js";
import { ERROR_CODES, type ErrorBody, type ErrorCode } from "@whisperrr/shared";

const STATUS_TEXT: Record<number, string> = {
  200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
  404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict", 413: "Payload Too Large", 414: "URI Too Long", 415: "Unsupported Media Type",
  422: "Unprocessable Entity", 429: "Too Many Requests", 431: "Request Header Fields Too Large",
  499: "Client Closed Request", 500: "Internal Server Error", 503: "Service Unavailable", 504: "Gateway Timeout",
};

export function statusLine(status: number): string {
  return `${status} ${STATUS_TEXT[status] ?? "Unknown"}`;
}

/**
 * One HTTP response. uWS forbids touching a response after the client went away, and wants
 * writes from async code corked: every send goes through here to get both right.
 */
export class Reply {
  aborted = false;
  done = false;
  private abortHandlers: (() => void)[] = [];

  constructor(readonly res: HttpResponse) {
    res.onAborted(() => {
      this.aborted = true;
      for (const handler of this.abortHandlers) handler();
    });
  }

  get open(): boolean {
    return !this.aborted && !this.done;
  }

  onAbort(handler: () => void): void {
    this.abortHandlers.push(handler);
  }

  /** `closeConnection` for answers sent before the request body was read, so the rest is not parsed as a request. */
  send(status: number, body: string | Uint8Array, headers: Record<string, string> = {}, closeConnection = false): void {
    if (!this.open) return;
    this.done = true;
    this.res.cork(() => {
      this.res.writeStatus(statusLine(status));
      for (const [k, v] of Object.entries(headers)) this.res.writeHeader(k, v);
      this.res.end(body, closeConnection);
    });
  }

  json(status: number, body: unknown, headers: Record<string, string> = {}, closeConnection = false): void {
    const json = { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store", ...headers };
    this.send(status, JSON.stringify(body), json, closeConnection);
  }

  error(code: ErrorCode, message: string, headers: Record<string, string> = {}, closeConnection = false): void {
    const body: ErrorBody = { error: { code, message } };
    this.json(ERROR_CODES[code], body, headers, closeConnection);
  }
}
