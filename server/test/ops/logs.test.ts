import { test } from "uvu";
import * as assert from "uvu/assert";
import { recording } from "../support/audio.ts";
import { readSse, uploadRaw } from "../support/client.ts";
import { startTestServer, waitFor, type TestServer } from "../support/server.ts";

const JFK = recording("jfk_inaugural_16k.wav");
/** Words of the JFK transcript that must not appear in any log line unless LOG_TRANSCRIPTS is on. */
const SPOKEN = /fellow Americans|your country/i;

let server: TestServer;
test.before(async () => {
  server = await startTestServer({ POOL_SIZE: "1" });
});
test.after(async () => {
  await server.stop();
});

async function runJob(on: TestServer): Promise<string> {
  const up = await uploadRaw(on.base, JFK.path);
  assert.is(up.status, 202);
  const { events } = await readSse(on.base, up.body.id);
  assert.is(events.at(-1)?.type, "completed");
  return up.body.id;
}

/** The one line a job gets when it ends. */
async function endLine(on: TestServer, jobId: string): Promise<Record<string, unknown>> {
  const find = () => on.logs.find((l) => l.jobId === jobId && l.stage === "done");
  await waitFor(() => find() !== undefined, 30_000, `the end line of ${jobId}`);
  return find()!;
}

test("every job ends with one JSON line carrying its id, status, durations and code; no transcript text", async () => {
  const jobId = await runJob(server);
  const done = await endLine(server, jobId);
  assert.is(done.msg, "job completed");
  assert.is(done.status, "completed");
  for (const field of ["queueMs", "runMs", "totalMs", "whisperMs"]) assert.type(done[field], "number", field);
  assert.ok(Math.abs((done.audioSeconds as number) - JFK.durationSeconds) < 0.1);
  assert.ok((done.realTimeFactor as number) > 0);
  assert.is(server.logs.filter((l) => l.jobId === jobId && l.stage === "done").length, 1, "one end line per job");
  assert.is(server.logs.find((l) => l.jobId === jobId && l.msg === "job created")?.stage, "queued");

  const cancelled = await uploadRaw(server.base, recording("librivox_sonnet001_en.mp3").path);
  await fetch(`${server.base}/api/jobs/${cancelled.body.id}`, { method: "DELETE" });
  assert.is((await endLine(server, cancelled.body.id)).status, "cancelled");

  const leaks = server.logs.filter((l) => SPOKEN.test(JSON.stringify(l)));
  assert.is(leaks.length, 0, `transcript text in logs: ${JSON.stringify(leaks)}`);
});

test("a failing job's line is a warning with its error code", async () => {
  const res = await fetch(`${server.base}/api/jobs`, { method: "POST", body: "this is not audio at all".repeat(100) });
  const { id } = (await res.json()) as { id: string };
  const failed = await endLine(server, id);
  assert.is(failed.msg, "job failed");
  assert.is(failed.level, 40);
  assert.is(failed.code, "decode_failed");
});

test("LOG_TRANSCRIPTS=1 logs each segment's text for debugging", async () => {
  const debug = await startTestServer({ POOL_SIZE: "1", LOG_TRANSCRIPTS: "1" });
  try {
    const jobId = await runJob(debug);
    await endLine(debug, jobId);
    const segments = debug.logs.filter((l) => l.jobId === jobId && l.msg === "segment");
    assert.ok(segments.length >= 1);
    assert.match(String(segments[0]!.text), SPOKEN);
  } finally {
    await debug.stop();
  }
});

test.run();
