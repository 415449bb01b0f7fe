import { test } from "uvu";
import * as assert from "uvu/assert";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { recording } from "../support/audio.ts";
import { readSse, readWs, uploadRaw } from "../support/client.ts";
import { startTestServer, waitFor, type TestServer } from "../support/server.ts";
import { parseExposition, sampleKey, type Exposition } from "./prometheus.ts";

let server: TestServer;

test.before(async () => {
  server = await startTestServer({ POOL_SIZE: "2" });
});
test.after(async () => {
  await server.stop();
});

async function scrape(base = server.base, headers: Record<string, string> = {}): Promise<Exposition> {
  const res = await fetch(`${base}/metrics`, { headers });
  assert.is(res.status, 200);
  assert.match(res.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

function value(exp: Exposition, name: string, labels: Record<string, string> = {}): number {
  const v = exp.samples.get(sampleKey(name, labels));
  if (v === undefined) throw new Error(`no sample ${sampleKey(name, labels)}`);
  return v;
}

test("/metrics is valid Prometheus text with every documented family", async () => {
  const exp = await scrape();
  const families: [string, string][] = [
    ["whisperrr_jobs_total", "counter"],
    ["whisperrr_job_failures_total", "counter"],
    ["whisperrr_decode_failures_total", "counter"],
    ["whisperrr_audio_seconds_total", "counter"],
    ["whisperrr_real_time_factor", "histogram"],
    ["whisperrr_queue_depth", "gauge"],
    ["whisperrr_jobs_running", "gauge"],
    ["whisperrr_model_contexts", "gauge"],
    ["whisperrr_connections", "gauge"],
    ["whisperrr_live_sessions", "gauge"],
    ["whisperrr_event_fanout_lag_seconds", "histogram"],
    ["process_cpu_seconds_total", "counter"],
    ["process_resident_memory_bytes", "gauge"],
    ["nodejs_eventloop_lag_seconds", "gauge"],
  ];
  // prom-client names counters without the _total suffix in TYPE lines.
  for (const [name, type] of families) assert.is(exp.types.get(name.replace(/_total$/, "")) ?? exp.types.get(name), type, name);
  assert.is(value(exp, "whisperrr_model_contexts", { state: "idle" }), 2, "both contexts idle");
  assert.is(value(exp, "whisperrr_model_contexts", { state: "busy" }), 0);
  assert.is(value(exp, "whisperrr_jobs_total", { status: "completed" }), 0);
});

test("the strict parser rejects malformed exposition", () => {
  assert.throws(() => parseExposition("# TYPE a counter\na 1"), /newline/);
  assert.throws(() => parseExposition("a 1\n"), /undeclared/);
  assert.throws(() => parseExposition('# TYPE a gauge\na{b="x} 1\n'), /malformed/);
  assert.throws(() => parseExposition("# TYPE a gauge\na one\n"), /malformed|bad value/);
  assert.throws(() => parseExposition('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'), /cumulative/);
});

test("a real job moves the counters; connection gauges follow open streams", async () => {
  const before = await scrape();
  const file = recording("jfk_inaugural_16k.wav");
  const up = await uploadRaw(server.base, file.path);
  assert.is(up.status, 202);
  const sse = readSse(server.base, up.body.id);
  const ws = readWs(server.base, up.body.id);
  await waitFor(async () => {
    const exp = await scrape();
    return value(exp, "whisperrr_connections", { transport: "sse" }) >= 1 && value(exp, "whisperrr_connections", { transport: "ws" }) >= 1;
  }, 30_000, "both streams counted as open");
  const [viaSse, viaWs] = await Promise.all([sse, ws]);
  assert.is(viaSse.events.at(-1)!.type, "completed");
  assert.is(viaWs.events.at(-1)!.type, "completed");

  await waitFor(async () => value(await scrape(), "whisperrr_connections", { transport: "ws" }) === 0, 10_000, "ws gauge back to 0");
  const after = await scrape();
  const delta = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels);
  assert.is(delta("whisperrr_jobs_total", { status: "completed" }), 1);
  assert.ok(Math.abs(delta("whisperrr_audio_seconds_total") - file.durationSeconds) < 0.1, `audio seconds moved by ${delta("whisperrr_audio_seconds_total")}`);
  assert.is(delta("whisperrr_real_time_factor_count"), 1);
  assert.ok(delta("whisperrr_real_time_factor_sum") > 0, "a real-time factor was observed");
  assert.ok(value(after, "whisperrr_event_fanout_lag_seconds_count", { transport: "ws" }) >= 3, "live events counted on ws");
  assert.ok(value(after, "whisperrr_event_fanout_lag_seconds_count", { transport: "sse" }) >= 1, "live events counted on sse");
  assert.is(value(after, "whisperrr_connections", { transport: "sse" }), 0);
  assert.is(value(after, "whisperrr_queue_depth"), 0);
  assert.is(value(after, "whisperrr_model_contexts", { state: "busy" }), 0);
});

test("a file ffmpeg cannot decode counts as a decode failure", async () => {
  const before = await scrape();
  const junk = path.join(mkdtempSync(path.join(tmpdir(), "whisperrr-metrics-")), "junk.bin");
  writeFileSync(junk, randomBytes(64 * 1024));
  const up = await uploadRaw(server.base, junk);
  assert.is(up.status, 202);
  const { events } = await readSse(server.base, up.body.id);
  const last = events.at(-1)!;
  assert.ok(last.type === "failed" && last.code === "decode_failed", JSON.stringify(last));
  const after = await scrape();
  assert.is(value(after, "whisperrr_decode_failures_total", { code: "decode_failed" }) - (before.samples.get(sampleKey("whisperrr_decode_failures_total", { code: "decode_failed" })) ?? 0), 1);
  assert.is(value(after, "whisperrr_jobs_total", { status: "failed" }) - value(before, "whisperrr_jobs_total", { status: "failed" }), 1);
  assert.ok(value(after, "whisperrr_job_failures_total", { code: "decode_failed" }) >= 1);
});

test("an open WebSocket with no subscription counts too, and stops counting when closed", async () => {
  const socket = new WebSocket(`${server.base.replace("http", "ws")}/ws`);
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  await waitFor(async () => value(await scrape(), "whisperrr_connections", { transport: "ws" }) === 1, 10_000, "ws counted");
  socket.close();
  await waitFor(async () => value(await scrape(), "whisperrr_connections", { transport: "ws" }) === 0, 10_000, "ws uncounted");
});

test("with API_KEY set, /metrics needs the key unless METRICS_PUBLIC=true", async () => {
  const keyed = await startTestServer({ API_KEY: "metrics-test-key", POOL_SIZE: "1" }, false);
  const open = await startTestServer({ API_KEY: "metrics-test-key", METRICS_PUBLIC: "true", POOL_SIZE: "1" }, false);
  try {
    assert.is((await fetch(`${keyed.base}/metrics`)).status, 401);
    await scrape(keyed.base, { Authorization: "Bearer metrics-test-key" });
    await scrape(open.base);
  } finally {
    await Promise.all([keyed.stop(), open.stop()]);
  }
});

test.run();
