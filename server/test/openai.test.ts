import { test } from "uvu";
import * as assert from "uvu/assert";
import { createReadStream, readFileSync } from "node:fs";
import OpenAI, { toFile } from "openai";
import type { TranscriptionVerbose, TranscriptionWord } from "openai/resources/audio/transcriptions";
import type { TranslationVerbose } from "openai/resources/audio/translations";
import type { JobSnapshot } from "@whisperrr/shared";
import { recording } from "./support/audio.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { normalizeWords, wordErrorRate } from "./support/wer.ts";

let server: TestServer;
let client: OpenAI;
let loadedModel: string;

test.before(async () => {
  server = await startTestServer();
  // The official client, pointed at this server; no retries so a failure shows as it happened.
  client = new OpenAI({ baseURL: `${server.base}/v1`, apiKey: "not-needed", maxRetries: 0, timeout: 1_800_000 });
  loadedModel = ((await (await fetch(`${server.base}/readyz`)).json()) as { model: string }).model;
});
test.after(async () => {
  await server.stop();
});

/**
 * Errors allowed per file: what whisper.cpp's CLI gets with this model, plus a small margin (as in
 * jobs.test.ts). librispeech 1221-135766-0001: "dishonored", "parrot", "forever" (for ever) = 4.
 */
function assertAccurate(file: string, text: string, maxErrors: number) {
  const score = wordErrorRate(recording(file).transcript, text);
  assert.ok(score.errors <= maxErrors, `${file}: ${score.errors}/${score.words} word errors (max ${maxErrors}): "${text}"`);
}

const audio = (file: string) => createReadStream(recording(file).path);

/** The cue texts of an SRT or WebVTT body, joined. */
function cueText(body: string): string {
  return body
    .split("\n")
    .filter((line) => line.trim() !== "" && line !== "WEBVTT" && !/^\d+$/.test(line) && !line.includes("-->"))
    .join(" ");
}

test("json (default) and text: the JFK sample with 0 word errors", async () => {
  const json = await client.audio.transcriptions.create({ file: audio("jfk_inaugural_16k.wav"), model: "whisper-1" });
  assert.equal(Object.keys(json), ["text"]);
  assertAccurate("jfk_inaugural_16k.wav", json.text, 0);
  const text = await client.audio.transcriptions.create({ file: audio("jfk_inaugural_16k.wav"), model: loadedModel, response_format: "text" });
  assert.type(text, "string");
  assert.is(text, `${json.text}\n`, "text is the json text as plain text");
});

test("srt and vtt: numbered cues with timestamps, same words", async () => {
  const file = "librispeech_1089-134686-0001.wav";
  const srt = await client.audio.transcriptions.create({ file: audio(file), model: "whisper-1", response_format: "srt" });
  assert.match(srt, /^1\n00:00:0\d,\d{3} --> 00:00:0\d,\d{3}\n\S/);
  assertAccurate(file, cueText(srt), 0);
  const vtt = await client.audio.transcriptions.create({ file: audio(file), model: "whisper-1", response_format: "vtt" });
  assert.match(vtt, /^WEBVTT\n\n00:00:0\d\.\d{3} --> 00:00:0\d\.\d{3}\n\S/);
  assert.is(cueText(vtt), cueText(srt));
});

/** Every word inside a segment, segments taken in order, word times never going back. */
function assertWordsInSegments(result: TranscriptionVerbose): void {
  const words: TranscriptionWord[] = result.words ?? [];
  const segments = result.segments ?? [];
  assert.ok(words.length >= 20, `words: ${JSON.stringify(words)}`);
  let segment = 0;
  let previous = 0;
  for (const w of words) {
    assert.ok(w.start >= previous - 1e-9 && w.end >= w.start, `word "${w.word}" ${w.start}-${w.end} after ${previous}`);
    previous = w.end;
    while (segment < segments.length && w.start >= segments[segment]!.end && !(w.end <= segments[segment]!.end)) segment++;
    const s = segments[segment];
    assert.ok(s && w.start >= s.start - 1e-9 && w.end <= s.end + 1e-9, `word "${w.word}" ${w.start}-${w.end} is inside segment ${segment}`);
  }
  assert.equal(normalizeWords(words.map((w) => w.word).join(" ")), normalizeWords(result.text), "the words spell the text");
}

test("verbose_json with word and segment timestamps", async () => {
  const file = "librispeech_1221-135766-0001.wav";
  const result = await client.audio.transcriptions.create({
    file: audio(file),
    model: "whisper-1",
    response_format: "verbose_json",
    timestamp_granularities: ["word", "segment"],
  });
  assert.is(result.language, "english");
  assert.ok(Math.abs(result.duration - recording(file).durationSeconds) < 0.1, `duration ${result.duration}`);
  assertAccurate(file, result.text, 4);
  const segments = result.segments ?? [];
  assert.ok(segments.length >= 2, "several segments");
  segments.forEach((s, i) => {
    assert.is(s.id, i);
    assert.ok(s.end > s.start && s.start >= (segments[i - 1]?.end ?? 0) - 1e-9, `segment ${i} times increase`);
  });
  assert.is(segments.map((s) => s.text).join(" "), result.text);
  assertWordsInSegments(result);
});

test("fields after the file still count (File first), and the job is the engine's own", async () => {
  const file = recording("jfk_inaugural_16k.wav");
  const { data, response } = await client.audio.transcriptions
    .create({ file: await toFile(readFileSync(file.path), "jfk.wav"), model: "whisper-1", response_format: "verbose_json", timestamp_granularities: ["word"], language: "en" })
    .withResponse();
  assert.ok(data.words && data.words.length >= 20, "word timestamps were requested after the file part");
  assert.is(data.segments, undefined, "only words were asked for");
  const jobId = response.headers.get("x-job-id");
  const job = (await (await fetch(`${server.base}/api/jobs/${jobId}`)).json()) as JobSnapshot;
  assert.is(job.status, "completed");
  assert.equal(job.options, { language: "en", task: "transcribe", wordTimestamps: true });
  assert.is(job.result?.text, data.text);
});

test("stream: deltas as segments arrive, then done with the whole text", async () => {
  const file = "librispeech_1221-135766-0001.wav";
  const stream = await client.audio.transcriptions.create({ file: audio(file), model: "whisper-1", stream: true, prompt: "Hester, Pearl." });
  const deltas: string[] = [];
  let done: string | null = null;
  for await (const event of stream) {
    assert.is(done, null, "nothing after the done event");
    if (event.type === "transcript.text.delta") deltas.push(event.delta);
    else if (event.type === "transcript.text.done") done = event.text;
  }
  assert.ok(deltas.length >= 2, `one delta per segment: ${JSON.stringify(deltas)}`);
  assert.is(deltas.join(""), done);
  assertAccurate(file, done ?? "", 4);
});

test("translations: the German recording comes back in English", async () => {
  const file = "librivox_simplicissimus_de.mp3";
  // Translating 68 s with beam search costs minutes of CPU on a busy machine: a long client timeout.
  const result = (await client.audio.translations.create({ file: audio(file), model: "whisper-1", response_format: "verbose_json" }, { timeout: 3_600_000 })) as TranslationVerbose & { task: string };
  assert.is(result.language, "german", "the source language is reported");
  assert.is(result.task, "translate");
  // The tiny model leaves some names and phrases in German; English must still dominate.
  const words = normalizeWords(result.text);
  const count = (list: string[]) => words.filter((w) => list.includes(w)).length;
  const english = count(["the", "and", "of", "a", "an", "in", "to", "is", "was", "he", "his", "with", "this", "that", "from", "for", "it"]);
  const german = count(["der", "die", "das", "und", "ist", "ein", "eine", "eines", "mit", "er", "sich", "auch", "wie", "von", "den", "dem"]);
  assert.ok(words.length >= 30 && english >= 8 && english > german, `not English (${english} English, ${german} German function words): ${result.text}`);
  assert.ok(wordErrorRate(recording(file).transcript, result.text).wer > 0.6, "not the German transcript");
});

test("models: list and retrieve name the loaded model and the whisper-1 alias", async () => {
  const ids: string[] = [];
  for await (const model of client.models.list()) {
    assert.is(model.object, "model");
    assert.type(model.created, "number");
    ids.push(model.id);
  }
  assert.equal(ids.sort(), [loadedModel, "whisper-1"].sort());
  assert.is((await client.models.retrieve("whisper-1")).id, "whisper-1");
  const missing = await client.models.retrieve("gpt-4o-transcribe").catch((e: unknown) => e);
  assert.instance(missing, OpenAI.NotFoundError);
});

test("errors come in OpenAI's envelope with matching statuses", async () => {
  const file = recording("fsdd_7_george_0_8k.wav").path;
  const unknownModel = await client.audio.transcriptions.create({ file: createReadStream(file), model: "gpt-4o-transcribe" }).catch((e: unknown) => e);
  assert.instance(unknownModel, OpenAI.NotFoundError);
  const e = unknownModel as InstanceType<typeof OpenAI.NotFoundError>;
  assert.is(e.code, "model_not_found");
  assert.is(e.param, "model");
  assert.is(e.type, "invalid_request_error");
  assert.match(e.message, /whisper-1/);

  const cases: [Record<string, string>, string][] = [
    [{ response_format: "docx" }, "response_format"],
    [{ temperature: "3" }, "temperature"],
    [{ language: "klingon" }, "language"],
    [{ response_format: "json", "timestamp_granularities[]": "word" }, "timestamp_granularities"],
  ];
  for (const [fields, param] of cases) {
    const form = new FormData();
    form.append("file", new Blob([readFileSync(file)]), "seven.wav");
    form.append("model", "whisper-1");
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    const res = await fetch(`${server.base}/v1/audio/transcriptions`, { method: "POST", body: form });
    assert.is(res.status, 400, param);
    const body = (await res.json()) as { error: Record<string, unknown> };
    assert.equal(Object.keys(body.error).sort(), ["code", "message", "param", "type"]);
    assert.is(body.error.param, param);
    assert.is(body.error.type, "invalid_request_error");
  }

  const raw = await fetch(`${server.base}/v1/audio/transcriptions`, { method: "POST", body: readFileSync(file) });
  assert.is(raw.status, 400, "a raw body is not OpenAI's request shape");
  const noFile = new FormData();
  noFile.append("model", "whisper-1");
  const missing = await fetch(`${server.base}/v1/audio/transcriptions`, { method: "POST", body: noFile });
  assert.is(missing.status, 400);
  assert.is(((await missing.json()) as { error: { code: string } }).error.code, "missing_file");
  const notAudio = await client.audio.transcriptions.create({ file: await toFile(Buffer.from("not audio at all"), "notes.txt"), model: "whisper-1" }).catch((err: unknown) => err);
  assert.instance(notAudio, OpenAI.UnprocessableEntityError);
});

test("API_KEY: the client's apiKey is sent as a Bearer token and checked", async () => {
  const locked = await startTestServer({ API_KEY: "s3cret-key", POOL_SIZE: "1" });
  try {
    const good = new OpenAI({ baseURL: `${locked.base}/v1`, apiKey: "s3cret-key", maxRetries: 0 });
    assert.ok((await good.models.retrieve("whisper-1")).id === "whisper-1");
    const bad = new OpenAI({ baseURL: `${locked.base}/v1`, apiKey: "wrong", maxRetries: 0 });
    assert.instance(await bad.models.list().catch((e: unknown) => e), OpenAI.AuthenticationError);
    const upload = await bad.audio.transcriptions.create({ file: audio("fsdd_7_george_0_8k.wav"), model: "whisper-1" }).catch((e: unknown) => e);
    assert.instance(upload, OpenAI.AuthenticationError);
  } finally {
    await locked.stop();
  }
});

test.run();
