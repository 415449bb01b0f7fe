import { openAsBlob } from "node:fs";
import { request } from "node:http";
import path from "node:path";
import WebSocket from "ws";
import { isTerminalEvent, type JobCreated, type JobEvent, type WsServerMessage } from "@whisperrr/shared";

export interface Upload {
  status: number;
  body: JobCreated & { error?: { code: string; message: string } };
  headers: Headers;
}

export async function uploadRaw(base: string, file: string, query = ""): Promise<Upload> {
  const res = await fetch(`${base}/api/jobs${query ? `?${query}` : ""}`, {
    method: "POST",
    body: await openAsBlob(file),
    headers: { "Content-Type": "application/octet-stream" },
  });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

export async function uploadMultipart(base: string, file: string, fields: Record<string, string> = {}): Promise<Upload> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append("file", await openAsBlob(file), path.basename(file));
  const res = await fetch(`${base}/api/jobs`, { method: "POST", body: form });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

export interface SseResult {
  events: JobEvent[];
  /** The `id:` field of each event, as sent. */
  ids: number[];
  status: number;
}

/** Reads a job's SSE stream until the server ends it; `stopAfter` hangs up early (to test resume). */
export function readSse(base: string, jobId: string, options: { lastEventId?: number; stopAfter?: number } = {}): Promise<SseResult> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = options.lastEventId !== undefined ? { "Last-Event-ID": String(options.lastEventId) } : {};
    const req = request(`${base}/api/jobs/${jobId}/events`, { headers }, (res) => {
      const result: SseResult = { events: [], ids: [], status: res.statusCode ?? 0 };
      let buffered = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffered += chunk;
        let end: number;
        while ((end = buffered.indexOf("\n\n")) !== -1) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const id = block.match(/^id: (\d+)$/m)?.[1];
          const data = block.match(/^data: (.*)$/m)?.[1];
          if (!data) continue;
          result.ids.push(Number(id));
          result.events.push(JSON.parse(data) as JobEvent);
          if (options.stopAfter !== undefined && result.events.length >= options.stopAfter) {
            req.destroy();
            return resolve(result);
          }
        }
      });
      res.on("end", () => resolve(result));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** Subscribes on `/ws` and collects the job's events until its terminal event. */
export function readWs(base: string, jobId: string, since?: number): Promise<{ events: JobEvent[]; messages: WsServerMessage[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base.replace("http", "ws")}/ws`);
    const events: JobEvent[] = [];
    const messages: WsServerMessage[] = [];
    ws.on("open", () => ws.send(JSON.stringify({ type: "subscribe", jobId, ...(since !== undefined ? { since } : {}) })));
    ws.on("message", (data) => {
      const msg = JSON.parse(data.toString()) as WsServerMessage;
      messages.push(msg);
      if (msg.type === "error") {
        ws.close();
        return resolve({ events, messages });
      }
      if ("seq" in msg) {
        events.push(msg);
        if (isTerminalEvent(msg)) {
          ws.close();
          resolve({ events, messages });
        }
      }
    });
    ws.on("error", reject);
  });
}
