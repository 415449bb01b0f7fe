import { test } from "uvu";
import * as assert from "uvu/assert";
import type { JobEvent, LiveFinalMessage } from "@whisperrr/shared";
import { recording } from "../support/audio.ts";
import { readSse, uploadRaw } from "../support/client.ts";
import { startTestServer, type TestServer } from "../support/server.ts";
import { wordErrorRate } from "../support/wer.ts";
import { seamErrors } from "./boundaries.ts";
import { finalsOf, pcmOf, streamLive, textOf, type LiveRun } from "./stream.ts";

let server: TestServer;

test.before(async () => {
  server = await startTestServer();
});
test.after(async () => {
  await server.stop();
});

async function fileJobText(file: string): Promise<string> {
  const up = await uploadRaw(server.base, file, "language=en");
  const { events } = await readSse(server.base, up.body.id);
  const last = events.at(-1) as JobEvent;
  assert.is(last.type, "completed", JSON.stringify(last));
  return last.type === "completed" ? last.text : "";
}

/** Finals are append-only: contiguous indexes, non-overlapping increasing times; `ended` last, after `stop`. */
function assertSessionContract(run: LiveRun): LiveFinalMessage[] {
  const finals = finalsOf(run) as LiveFinalMessage[];
  let end = 0;
  finals.forEach((f, i) => {
    assert.is(f.index, i, "final indexes are contiguous");
    assert.ok(f.start >= end - 1e-9 && f.end >= f.start, `final ${i} times increase (${f.start}-${f.end} after ${end})`);
    assert.ok(f.text.trim().length > 0, "finals carry text");
    end = f.end;
  });
  assert.is(run.received[0]!.message.type, "ready");
  const last = run.received.at(-1)!;
  assert.is(last.message.type, "ended", `last message is ended, got ${JSON.stringify(last.message)}`);
  assert.ok(run.stopAt >= 0 && last.at >= run.stopAt, "ended arrives after stop");
  assert.is(run.closeCode, 1000);
  if (last.message.type === "ended") {
    assert.is(last.message.text, textOf(run), "ended repeats the finals, unrevised");
    assert.is(last.message.finalCount, finals.length);
  }
  assert.not.ok(run.received.some((r) => r.message.type === "error"), "no error");
  return finals;
}

const RECORDINGS = ["jfk_inaugural_16k.wav", "librispeech_1221-135766-0001.wav", "asterisk_demo-congrats_8k.wav"];

test("real recordings streamed at real-time pace: finals match the file job, clean seams, ended after stop", async () => {
  const runs = await Promise.all(
    RECORDINGS.map(async (file) => {
      const rec = recording(file);
      const [run, fileText] = await Promise.all([streamLive(server.base, pcmOf(rec.path)), fileJobText(rec.path)]);
      return { rec, run, fileText };
    }),
  );
  let partials = 0;
  for (const { rec, run, fileText } of runs) {
    const finals = assertSessionContract(run);
    const live = wordErrorRate(rec.transcript, textOf(run));
    const file = wordErrorRate(rec.transcript, fileText);
    const detail = `${rec.file}: live ${live.errors}/${live.words} "${textOf(run)}" vs file ${file.errors}/${file.words} "${fileText}"`;
    assert.ok(live.wer <= file.wer + 0.05, `live WER within 5 points of the file job: ${detail}`);
    assert.equal(seamErrors(rec.transcript, finals.map((f) => f.text), fileText), [], `seams: ${finals.map((f) => `[${f.text}]`).join(" ")}`);
    partials += run.received.filter((r) => r.message.type === "partial" && r.message.text).length;
    const lastFinal = finals.at(-1)!;
    assert.ok(lastFinal.end <= rec.durationSeconds + 0.05, "final times are session audio time");
  }
  assert.ok(partials > 0, "partials arrive before text is final");
});

test("30 s of silence and 30 s of noise give no text", async () => {
  const sources = ["anullsrc=r=16000:cl=mono:d=30", "anoisesrc=r=16000:c=pink:a=0.2:d=30", "anoisesrc=r=16000:c=white:a=0.05:d=30"];
  const runs = await Promise.all(sources.map((source) => streamLive(server.base, pcmOf(source))));
  runs.forEach((run, i) => {
    assertSessionContract(run);
    assert.is(textOf(run), "", `${sources[i]} produced text`);
    const ended = run.received.at(-1)!.message;
    assert.ok(ended.type === "ended" && Math.abs(ended.durationSeconds - 30) < 0.1);
  });
});

test.run();
