// Live latency benchmark (`npm run bench:live`): streams recordings through /ws/live at real-time
// pace and reports how long after a word ends in the audio it shows up in a partial and in a
// final; then the same while a file job is transcribing. Word end times come from whisper's
// token timestamps on the whole file. A report, not a test: it asserts nothing.
import path from "node:path";
import type { LiveServerMessage } from "@whisperrr/shared";
import { s16ToFloat32 } from "../../server/src/audio/pcm.ts";
import { transcribeWindow, WhisperModel } from "../../server/src/engine/whisper.ts";
import { recording } from "../../server/test/support/audio.ts";
import { uploadRaw } from "../../server/test/support/client.ts";
import { KIT_MODELS, startTestServer } from "../../server/test/support/server.ts";
import { normalizeWords } from "../../server/test/support/wer.ts";
import { pcmOf, streamLive, textOf, type LiveRun } from "../../server/test/live/stream.ts";

const RECORDINGS = ["jfk_inaugural_16k.wav", "librispeech_1221-135766-0001.wav", "asterisk_demo-congrats_8k.wav", "ami_ES2011a_headset0_40-46s.wav"];
const BACKGROUND_JOB = "librivox_sonnet001_en.mp3";

interface TimedWord {
  word: string;
  end: number;
}

/** Word end times (s) of the whole recording, from one whisper pass with token timestamps. */
async function wordEnds(model: WhisperModel, pcm: Buffer): Promise<TimedWord[]> {
  const segments = await transcribeWindow(model, { pcm: s16ToFloat32(pcm), language: "en", translate: false, prompt: "", threads: 1, beamSize: 5, wordTimestamps: true }, () => undefined);
  return segments.flatMap((s) => (s.words ?? []).flatMap((w) => normalizeWords(w.word).map((word) => ({ word, end: w.to / 1000 }))));
}

/** Pairs of (reference index, hypothesis index) on a longest common subsequence of words. */
function matches(ref: string[], hyp: string[]): Map<number, number> {
  const l = Array.from({ length: ref.length + 1 }, () => new Array<number>(hyp.length + 1).fill(0));
  for (let i = ref.length - 1; i >= 0; i--) for (let j = hyp.length - 1; j >= 0; j--) l[i]![j] = ref[i] === hyp[j] ? l[i + 1]![j + 1]! + 1 : Math.max(l[i + 1]![j]!, l[i]![j + 1]!);
  const out = new Map<number, number>();
  for (let i = 0, j = 0; i < ref.length && j < hyp.length; ) {
    if (ref[i] === hyp[j]) out.set(i++, j++);
    else if (l[i + 1]![j]! >= l[i]![j + 1]!) i++;
    else j++;
  }
  return out;
}

/** Seconds from each word's end in the audio to the first message showing it (finals only, or any). */
function latencies(words: TimedWord[], run: LiveRun): { final: number[]; seen: number[] } {
  const ref = words.map((w) => w.word);
  const firstAt = (finalsOnly: boolean) => {
    const found = new Map<number, number>();
    let committed: string[] = [];
    for (const { message, at } of run.received) {
      if (message.type !== "final" && message.type !== "partial") continue;
      if (message.type === "final") committed = [...committed, ...normalizeWords(message.text)];
      if (finalsOnly && message.type !== "final") continue;
      const hyp = message.type === "partial" ? [...committed, ...normalizeWords(message.text)] : committed;
      for (const [i] of matches(ref, hyp)) if (!found.has(i)) found.set(i, at / 1000 - words[i]!.end);
    }
    return [...found.values()];
  };
  return { final: firstAt(true), seen: firstAt(false) };
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};
const f = (x: number) => (Number.isNaN(x) ? "  –  " : x.toFixed(2).padStart(5));

async function main() {
  const model = await WhisperModel.load(path.join(process.env.MODEL_DIR ?? KIT_MODELS, "ggml-tiny-q8_0.bin"), false);
  const inputs: { file: string; pcm: Buffer; words: TimedWord[] }[] = [];
  for (const file of RECORDINGS) {
    const pcm = pcmOf(recording(file).path);
    inputs.push({ file, pcm, words: await wordEnds(model, pcm) });
  }
  await model.free();
  const server = await startTestServer();
  const all = { idle: { final: [] as number[], seen: [] as number[] }, busy: { final: [] as number[], seen: [] as number[] } };
  console.log("recording                            | load     | final p50   p90 | partial p50   p90 | words");
  try {
    for (const load of ["idle", "busy"] as const) {
      for (const { file, pcm, words } of inputs) {
        const job = load === "busy" ? await uploadRaw(server.base, recording(BACKGROUND_JOB).path, "language=en") : null;
        const run = await streamLive(server.base, pcm);
        if (job) await fetch(`${server.base}/api/jobs/${job.body.id}`, { method: "DELETE" });
        const l = latencies(words, run);
        all[load].final.push(...l.final);
        all[load].seen.push(...l.seen);
        const errors = run.received.filter((r) => r.message.type === "error").map((r) => (r.message as Extract<LiveServerMessage, { type: "error" }>).code);
        console.log(
          `${file.padEnd(36)} | ${load === "idle" ? "alone   " : "+ file  "} | ${f(pct(l.final, 0.5))} ${f(pct(l.final, 0.9))} | ${f(pct(l.seen, 0.5))} ${f(pct(l.seen, 0.9))}       | ${l.final.length}/${words.length}${errors.length ? ` errors: ${errors.join(",")}` : ""}`,
        );
        if (process.env.BENCH_VERBOSE) console.log(`  "${textOf(run)}"`);
      }
    }
    for (const load of ["idle", "busy"] as const) {
      const a = all[load];
      console.log(`ALL ${load === "idle" ? "alone" : "with a file job running"}: final median ${f(pct(a.final, 0.5))} s, p90 ${f(pct(a.final, 0.9))} s; partial median ${f(pct(a.seen, 0.5))} s, p90 ${f(pct(a.seen, 0.9))} s`);
    }
  } finally {
    await server.stop();
  }
}

await main();
