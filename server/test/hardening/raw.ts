import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import WebSocket from "ws";
import { isTerminalEvent, type JobEvent } from "@whisperrr/shared";
import { readSse } from "../support/client.ts";

/** A request written byte by byte, so headers and bodies can lie (Content-Length, framing). */
export interface RawRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Sent as Content-Length instead of the body's real length. */
  contentLength?: number;
  /** After the body: "end" half-closes the socket, "hang" keeps it open without sending more. */
  then?: "end" | "hang";
}

export interface RawResponse {
  /** 0 when the connection closed without an answer. */
  status: number;
  headers: Record<string, string>;
  body: string;
  json: { error?: { code: string; message: string }; id?: string } | null;
}

/** Sends `request` on a fresh socket and reads the first response (or the close without one). */
export function rawRequest(port: number, request: RawRequest, timeoutMs = 60_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const body = request.body ?? Buffer.alloc(0);
    const headers: Record<string, string> = { Host: `127.0.0.1:${port}`, ...request.headers };
    if (!Object.keys(headers).some((k) => /^(content-length|transfer-encoding)$/i.test(k)) && request.method !== "GET") {
      headers["Content-Length"] = String(request.contentLength ?? body.length);
    }
    const head = `${request.method ?? "POST"} ${request.path ?? "/api/jobs"} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n`;
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (response: RawResponse) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(response);
    };
    socket.on("data", (chunk) => {
      received = Buffer.concat([received, chunk]);
      const parsed = parseResponse(received);
      if (parsed) finish(parsed);
    });
    socket.on("error", () => undefined);
    socket.on("close", () => finish(parseResponse(received, true) ?? { status: 0, headers: {}, body: "", json: null }));
    socket.write(head);
    socket.write(body, () => {
      if (request.then === "end") socket.end();
    });
  });
}

function parseResponse(data: Buffer, closed = false): RawResponse | null {
  const split = data.indexOf("\r\n\r\n");
  if (split === -1) return null;
  const [statusLine, ...lines] = data.subarray(0, split).toString("latin1").split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const at = line.indexOf(":");
    headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
  }
  const length = Number(headers["content-length"] ?? NaN);
  const body = data.subarray(split + 4);
  if (Number.isFinite(length) ? body.length < length : !closed) return null;
  const text = body.subarray(0, Number.isFinite(length) ? length : undefined).toString("utf8");
  let json: RawResponse["json"] = null;
  try {
    json = JSON.parse(text) as RawResponse["json"];
  } catch {
    /* not JSON */
  }
  return { status: Number(statusLine!.split(" ")[1]), headers, body: text, json };
}

/** A multipart/form-data body from parts in order. */
export function multipart(boundary: string, parts: { name: string; value: Buffer | string; filename?: string }[]): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename ? `; filename="${part.filename}"` : ""}`;
    const type = part.filename ? "Content-Type: application/octet-stream\r\n" : "";
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${type}\r\n`), Buffer.from(part.value), Buffer.from("\r\n"));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

/** The job's events up to its terminal one. */
export async function terminalEvent(base: string, jobId: string): Promise<JobEvent> {
  const { events } = await readSse(base, jobId);
  const last = events.at(-1);
  if (!last || !isTerminalEvent(last)) throw new Error(`job ${jobId} events ended without a terminal event`);
  return last;
}

/** Messages received on a `/ws` socket after sending `messages`, until `count` arrived or it closed. */
export function wsExchange(base: string, messages: (string | Buffer)[], count: number, path = "/ws", timeoutMs = 30_000): Promise<{ received: Record<string, unknown>[]; closeCode: number | null }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base.replace("http", "ws")}${path}`);
    const received: Record<string, unknown>[] = [];
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`ws: ${received.length}/${count} messages within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (closeCode: number | null) => {
      clearTimeout(timer);
      resolve({ received, closeCode });
    };
    ws.on("open", () => {
      for (const m of messages) ws.send(m, { binary: Buffer.isBuffer(m) });
    });
    ws.on("message", (data) => {
      received.push(JSON.parse(data.toString()) as Record<string, unknown>);
      if (received.length >= count) {
        ws.close();
        done(null);
      }
    });
    ws.on("close", (code) => done(code));
    ws.on("error", () => undefined);
  });
}

/** Open file descriptors of a process. */
export const fdCount = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

/** Child processes of `pid` (ffmpeg decoders), as "pid comm" lines. */
export function childProcesses(pid: number): string[] {
  try {
    return execFileSync("ps", ["-o", "pid=,comm=", "--ppid", String(pid)], { encoding: "utf8" }).split("\n").map((l) => l.trim()).filter(Boolean);
  } catch {
    return []; // ps exits 1 when there are none
  }
}

/** Peak resident memory of a process in MB (VmHWM). */
export function peakRssMb(pid: number): number {
  const kb = Number(readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmHWM:\s+(\d+) kB/m)?.[1] ?? NaN);
  return Math.round(kb / 1024);
}
