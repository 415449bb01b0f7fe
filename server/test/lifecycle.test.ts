import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { JobEvent, JobSnapshot } from "@whisperrr/shared";
import { recording } from "./support/audio.ts";
import { readSse, uploadRaw } from "./support/client.ts";
import { startTestServer, waitFor, type TestServer } from "./support/server.ts";

const scratch = mkdtempSync(path.join(tmpdir(), "whisperrr-lifecycle-"));
/** ~2 minutes of real speech: several windows, so a running job can be cancelled between them. */
const longFile = path.join(scratch, "long.wav");
execFileSync("ffmpeg", ["-v", "error", "-i", recording("librivox_simplicissimus_de.mp3").path, "-i", recording("librivox_sonnet001_en.mp3").path,
  "-filter_complex", "[0:a][1:a]concat=n=2:v=0:a=1", "-ac", "1", "-ar", "16000", longFile]);

const snapshot = async (s: TestServer, id: string) => (await (await fetch(`${s.base}/api/jobs/${id}`)).json()) as JobSnapshot;
const cancel = (s: TestServer, id: string) => fetch(`${s.base}/api/jobs/${id}`, { method: "DELETE" });
const childPids = (pid: number) =>
  execFileSync("ps", ["-o", "pid=,comm=", "--ppid", String(pid)], { encoding: "utf8" }).split("\n").filter((l) => l.includes("ffmpeg"));
const safeChildren = (pid: number) => {
  try {
    return childPids(pid);
  } catch {
    return []; // ps exits 1 when there are none
  }
};

test("cancel: a queued job at once, a running one before its next window, ffmpeg gone", async () => {
  const server = await startTestServer({ POOL_SIZE: "1" });
  try {
    const running = await uploadRaw(server.base, longFile, "language=de");
    await waitFor(async () => (await snapshot(server, running.body.id)).segments.length > 0, 120_000, "first segment");
    const queued = await uploadRaw(server.base, recording("jfk_inaugural_16k.wav").path);
    assert.is((await snapshot(server, queued.body.id)).status, "queued");

    const q = await cancel(server, queued.body.id);
    assert.is(q.status, 200);
    const qEvents = (await readSse(server.base, queued.body.id)).events;
    // A queued job already decodes (progress events), but never starts transcribing.
    assert.equal(qEvents.map((e) => e.type).filter((t) => t !== "progress"), ["queued", "cancelled"]);

    const r = await cancel(server, running.body.id);
    assert.is(r.status, 200);
    const rEvents: JobEvent[] = (await readSse(server.base, running.body.id)).events;
    assert.is(rEvents.at(-1)!.type, "cancelled");
    const lastSegment = rEvents.filter((e) => e.type === "segment").at(-1) as { end: number };
    assert.ok(lastSegment.end < 100, `stopped early (last segment ends at ${lastSegment.end} s of ~121 s)`);
    assert.is((await cancel(server, running.body.id)).status, 409, "cancelling an ended job is a conflict");
    await waitFor(() => safeChildren(server.child.pid!).length === 0, 10_000, "ffmpeg children to exit");

    const next = await uploadRaw(server.base, recording("librispeech_1089-134686-0001.wav").path);
    const nextEvents = (await readSse(server.base, next.body.id)).events;
    assert.is(nextEvents.at(-1)!.type, "completed", "the context was freed for the next job");
  } finally {
    await server.stop();
  }
});

test("readyz: 503 while loading, 200 when loaded; healthz always 200", async () => {
  const server = await startTestServer({ POOL_SIZE: "4" }, false);
  try {
    const early = await fetch(`${server.base}/readyz`);
    const body = (await early.json()) as { ready: boolean; reason: string };
    if (early.status === 503) assert.match(body.reason, /loading/);
    assert.is((await fetch(`${server.base}/healthz`)).status, 200);
    await waitFor(async () => (await fetch(`${server.base}/readyz`)).status === 200, 60_000, "ready");
    assert.is(early.status, 503, "the first probe, right after listening, came before the pool was loaded");
  } finally {
    await server.stop();
  }
});

test("readyz stays 503 with the reason when the model is corrupt or missing; uploads get 503", async () => {
  const corrupt = path.join(scratch, "ggml-broken.bin");
  writeFileSync(corrupt, Buffer.alloc(4096, 0x41));
  for (const [model, reason] of [[corrupt, /not a whisper\.cpp ggml model/], [path.join(scratch, "nope.bin"), /does not exist/]] as const) {
    const server = await startTestServer({ MODEL: model }, false);
    try {
      await waitFor(async () => ((await (await fetch(`${server.base}/readyz`)).json()) as { reason: string }).reason !== "the speech model is loading", 10_000, "load attempt");
      const res = await fetch(`${server.base}/readyz`);
      assert.is(res.status, 503);
      assert.match(((await res.json()) as { reason: string }).reason, reason);
      const up = await uploadRaw(server.base, recording("fsdd_7_george_0_8k.wav").path);
      assert.is(up.status, 503);
      assert.is(up.body.error?.code, "not_ready");
      assert.ok(up.headers.get("retry-after"));
      assert.is(server.child.exitCode, null, "the process stays up");
    } finally {
      await server.stop();
    }
  }
});

test("TTL sweep removes an ended job with its events and transcript", async () => {
  const server = await startTestServer({ JOB_TTL_SECONDS: "1", SWEEP_INTERVAL_SECONDS: "1" });
  try {
    const up = await uploadRaw(server.base, recording("fsdd_7_george_0_8k.wav").path);
    const { events } = await readSse(server.base, up.body.id);
    assert.is(events.at(-1)!.type, "completed");
    await waitFor(async () => (await fetch(`${server.base}/api/jobs/${up.body.id}`)).status === 404, 10_000, "job swept");
    assert.is((await fetch(`${server.base}/api/jobs/${up.body.id}/transcript`)).status, 404);
    assert.is((await fetch(`${server.base}/api/jobs/${up.body.id}/events`)).status, 404);
  } finally {
    await server.stop();
  }
});

test.run();
