import { Readable } from "node:stream";
import type { Reply } from "./respond.ts";

/**
 * The request body as a Node stream. uWS hands out chunks it reuses after the callback returns,
 * so each is copied; when the consumer falls behind, the socket is paused rather than buffering.
 */
export function bodyStream(reply: Reply): Readable {
  const { res } = reply;
  let paused = false;
  const stream = new Readable({
    highWaterMark: 1 << 20,
    read() {
      if (paused && reply.open) {
        paused = false;
        res.resume();
      }
    },
  });
  res.onData((chunk, isLast) => {
    if (chunk.byteLength > 0 && !stream.push(Buffer.from(chunk.slice(0)))) {
      paused = true;
      res.pause();
    }
    if (isLast) stream.push(null);
  });
  reply.onAbort(() => stream.destroy(new UploadAbortedError()));
  return stream;
}

export class UploadAbortedError extends Error {
  constructor() {
    super("The client closed the connection before the upload finished.");
  }
}
