// The server as the benchmark drives it: a real child process, uploads paced like a real
// client, events read back over SSE, memory read from /proc.
import { once } from "node:events";
import { readFileSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { setTimeout as delay } from "node:timers/promises";
import { request } from "node:http";
import type { JobEvent, JobSnapshot } from "@whisperrr/shared";
import { readSse } from "../../server/test/support/client.ts";
import { startTestServer, type TestServer } from "../../server/test/support/server.ts";

export type { TestServer };

export function launch(env: Record<string, string> = {}): Promise<TestServer> {
  return startTestServer(env);
}

export interface Memory {
  /** Resident set now, MB. */
  rssMb: number;
  /** Peak resident set since the process started (VmHWM), MB. */
  peakMb: number;
}

export function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"))?.[1] ?? NaN);
  return { rssMb: kb("VmRSS") / 1024, peakMb: kb("VmHWM") / 1024 };
}

export interface UploadTiming {
  id: string;
  /** Epoch ms: request started, the body byte `markBytes` was handed to the socket, the body finished, the 202 arrived. */
  startedAt: number;
  markAt: number | null;
  bodyDoneAt: number;
  respondedAt: number;
}

export interface UploadOptions {
  /** Pace like a real link; unpaced, as fast as loopback takes it. */
  bytesPerSecond?: number;
  /** Record when this much of the body has been sent (e.g. the bytes of the first 30 s of audio). */
  markBytes?: number;
  query?: string;
  /** Awaited before the last chunk is sent: the upload cannot finish before it resolves. */
  beforeLastChunk?: () => Promise<void>;
}

const CHUNK = 64 * 1024;

/** Streams a file as a raw-body upload and reports when each part of it was sent. */
export async function upload(base: string, file: string, options: UploadOptions = {}): Promise<UploadTiming> {
  const size = statSync(file).size;
  const startedAt = Date.now();
  const req = request(`${base}/api/jobs?${options.query ?? "language=auto"}`, {
    method: "POST",
    headers: { "Content-Type": "application/octet-stream", "Content-Length": String(size) },
  });
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
  });
  answer.catch(() => undefined); // surfaced below, after the body is sent
  let markAt: number | null = null;
  const handle = await open(file);
  try {
    for (let sent = 0; sent < size; ) {
      const length = Math.min(CHUNK, size - sent);
      if (sent + length === size) await options.beforeLastChunk?.();
      const { buffer } = await handle.read(Buffer.alloc(length), 0, length, sent);
      sent += length;
      if (!req.write(buffer)) await once(req, "drain");
      if (markAt === null && options.markBytes !== undefined && sent >= options.markBytes) markAt = Date.now();
      const due = options.bytesPerSecond ? startedAt + (sent / options.bytesPerSecond) * 1000 - Date.now() : 0;
      if (due > 0) await delay(due);
    }
  } finally {
    await handle.close();
  }
  await new Promise<void>((resolve) => req.end(resolve));
  const bodyDoneAt = Date.now();
  const { status, body } = await answer;
  if (status !== 202) throw new Error(`upload answered ${status}: ${body}`);
  return { id: (JSON.parse(body) as { id: string }).id, startedAt, markAt, bodyDoneAt, respondedAt: Date.now() };
}

/** Reads a job's events over SSE until its terminal event. */
export async function followJob(base: string, id: string): Promise<JobEvent[]> {
  return (await readSse(base, id)).events;
}

/** Polls the job's snapshot until `ready` holds or the job ends. */
export async function waitForSnapshot(base: string, id: string, ready: (s: JobSnapshot) => boolean): Promise<JobSnapshot> {
  for (;;) {
    const snapshot = (await (await fetch(`${base}/api/jobs/${id}`)).json()) as JobSnapshot;
    if (ready(snapshot) || snapshot.endedAt) return snapshot;
    await delay(200);
  }
}

/** Waits until `ready` holds, then cancels the job (the rest of a long file is not needed) and returns its events. */
export async function cancelWhen(base: string, id: string, ready: (s: JobSnapshot) => boolean, before: () => void = () => undefined): Promise<JobEvent[]> {
  await waitForSnapshot(base, id, ready);
  before();
  await cancel(base, id);
  return followJob(base, id);
}

export async function cancel(base: string, id: string): Promise<void> {
  await fetch(`${base}/api/jobs/${id}`, { method: "DELETE" });
}

export interface JobRun {
  upload: UploadTiming;
  events: JobEvent[];
  text: string;
  /** Seconds from upload start to the `completed` event. */
  wallSeconds: number;
}

/** Uploads at full speed and follows the job to its end. */
export async function transcribeViaServer(base: string, file: string, language = "auto"): Promise<JobRun> {
  const timing = await upload(base, file, { query: `language=${language}` });
  const events = await followJob(base, timing.id);
  const last = events.at(-1);
  if (!last || last.type !== "completed") throw new Error(`job ${timing.id} ended with ${JSON.stringify(last)}`);
  return { upload: timing, events, text: last.text, wallSeconds: (Date.parse(last.at) - timing.startedAt) / 1000 };
}
