// `npm run bench`: the numbers of the README's "Performance" section, as ratios measured
// in one run (the machine is shared and noisy, so absolute seconds from different runs do not
// compare). Writes bench-results/bench-<time>.json and prints a table.
//   --quick   skip the 2×2 pool size and the 10-minute single pass; one clip once for
//             the build comparison, 4 recordings for overhead, a 30 s clip for throughput, the long job stopped after 3 windows
//   AUDIO_DIR recordings + manifest.tsv (default ../shared/audio); MODEL_DIR as for the tests
//   BENCH_UPLOAD_MBPS throttled upload rate for time-to-first-segment (default 2)
import os from "node:os";
import path from "node:path";
import type * as SmartWhisper from "smart-whisper";
import type { JobEvent } from "@whisperrr/shared";
import { ROOT_DIR } from "../../server/src/config.ts";
import { whisperBuildInfo } from "../../server/src/engine/build-info.ts";
import { wordErrorRate } from "../../server/test/support/wer.ts";
import { MODEL_FILE, transcribeBare } from "./bare.ts";
import { loadBuild, type BuildLevel } from "./builds.ts";
import { measureFanout } from "./fanout.ts";
import { AUDIO_DIR, concatenated, decodePcm, head, recordings, wavBytesFor, writeJson, type Clip } from "./inputs.ts";
import { cancelWhen, followJob, launch, memoryOf, transcribeViaServer, upload, type TestServer } from "./server.ts";
import { printTable, type Row } from "./table.ts";

const quick = process.argv.includes("--quick");
const OUT_DIR = path.join(ROOT_DIR, "bench-results");
const WORK_DIR = path.join(OUT_DIR, "inputs");
const CPUS = os.availableParallelism();
/** What the server gives each window by default (THREADS=auto with POOL_SIZE = CPUs); bare whisper gets the same. */
const THREADS = 1;
const UPLOAD_RATE = Number(process.env.BENCH_UPLOAD_MBPS ?? 2) * 1024 * 1024;
const FANOUT_CLIENTS = 1000;
/** Quick runs time the server path on these (a third of the kit's audio) instead of every recording. */
const QUICK_FILES = ["jfk_inaugural_16k.wav", "librispeech_1221-135766-0001.wav", "asterisk_demo-congrats_8k.wav", "ami_ES2011a_headset0_40-46s.wav"];

const rows: Row[] = [];
const results: Record<string, unknown> = {};
const log = (line: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const r2 = (n: number) => Math.round(n * 100) / 100;
const pct = (n: number) => `${(n * 100).toFixed(1)}%`;

async function withServer<T>(env: Record<string, string>, work: (server: TestServer) => Promise<T>): Promise<T> {
  const server = await launch(env);
  try {
    return await work(server);
  } finally {
    await server.stop();
  }
}

async function loadModel(sw: typeof SmartWhisper): Promise<SmartWhisper.WhisperModel> {
  return sw.WhisperModel.load(MODEL_FILE, false);
}

/** 0. The same audio through whisper.cpp built three ways, interleaved so load changes hit every build alike. */
async function buildComparison(clips: Clip[], rounds: number): Promise<void> {
  const levels: BuildLevel[] = ["native", "x86-64-v3", "default"];
  const builds = await Promise.all(levels.map(async (level) => {
    const handle = loadBuild(level, log);
    return { handle, model: await loadModel(handle.module), seconds: 0, texts: [] as string[] };
  }));
  const pcm = clips.map((c) => decodePcm(c.path));
  for (let round = 0; round < rounds; round++) {
    for (const audio of pcm) {
      for (const b of builds) {
        const r = await transcribeBare(b.handle.module, b.model, audio, { language: "auto", threads: THREADS });
        b.seconds += r.seconds;
        if (round === 0) b.texts.push(r.text);
      }
    }
  }
  await Promise.all(builds.map((b) => b.model.free()));
  const [native, ...others] = builds;
  results.build = { clips: clips.map((c) => c.name), rounds, seconds: Object.fromEntries(builds.map((b) => [b.handle.level, r2(b.seconds)])) };
  for (const b of others) {
    const sameText = b.texts.join("|") === native!.texts.join("|");
    log(`build ${b.handle.level}: ${b.seconds.toFixed(1)} s vs native ${native!.seconds.toFixed(1)} s`);
    rows.push({ item: "0 build", what: `${b.handle.level} / native time (same text: ${sameText ? "yes" : "NO"})`, value: `${r2(b.seconds / native!.seconds)}x`, target: "native fastest", met: b.seconds >= native!.seconds });
  }
}

/** 1 + 6 (kit part). Bare whisper vs the whole server path, file by file, interleaved. */
async function overheadAndAccuracy(clips: Clip[]): Promise<{ bare: string[]; server: string[] }> {
  const sw = loadBuild("native", log).module;
  const model = await loadModel(sw);
  const perFile: Record<string, unknown>[] = [];
  const bareTexts: string[] = [];
  const serverTexts: string[] = [];
  await withServer({}, async (server) => {
    for (const clip of clips) {
      const bare = await transcribeBare(sw, model, decodePcm(clip.path), { language: "auto", threads: THREADS });
      const run = await transcribeViaServer(server.base, clip.path);
      bareTexts.push(bare.text);
      serverTexts.push(run.text);
      perFile.push({ file: clip.name, audioSeconds: clip.seconds, bareSeconds: r2(bare.seconds), serverSeconds: r2(run.wallSeconds), ratio: r2(run.wallSeconds / bare.seconds) });
      log(`overhead ${clip.name}: bare ${bare.seconds.toFixed(2)} s, server ${run.wallSeconds.toFixed(2)} s`);
    }
  });
  await model.free();
  const sum = (k: string) => perFile.reduce((s, f) => s + (f[k] as number), 0);
  const total = sum("serverSeconds") / sum("bareSeconds");
  results.overhead = { perFile, total: r2(total) };
  const speech = perFile.filter((f) => (f.audioSeconds as number) >= 5);
  const worst = speech.reduce((w, f) => ((f.ratio as number) > (w.ratio as number) ? f : w), speech[0]!);
  rows.push({ item: "1 overhead", what: `server / bare, all ${clips.length} files`, value: `${r2(total)}x`, target: "≤ 1.05", met: total <= 1.05 });
  rows.push({ item: "1 overhead", what: `worst file ≥ 5 s (${worst.file})`, value: `${worst.ratio}x`, target: "≤ 1.05", met: (worst.ratio as number) <= 1.05 });
  return { bare: bareTexts, server: serverTexts };
}

function pooledWer(refs: string[], hyps: string[]): number {
  let errors = 0;
  let words = 0;
  refs.forEach((ref, i) => {
    const s = wordErrorRate(ref, hyps[i]!);
    errors += s.errors;
    words += s.words;
  });
  return errors / words;
}

/** 3. Real-time factor of one job alone and two at once, for POOL_SIZE × THREADS choices. */
async function throughput(clip: Clip): Promise<void> {
  const configs: { name: string; env: Record<string, string> }[] = [{ name: `default POOL_SIZE=${CPUS} × THREADS=auto (=1)`, env: {} }];
  // 1×2: one job at a time with every core; 2×2: what splitting "the CPUs free right now" can reach (a window started alone keeps 2 threads).
  configs.push({ name: "POOL_SIZE=1 × THREADS=2", env: { POOL_SIZE: "1", THREADS: "2" } });
  if (!quick) configs.push({ name: "POOL_SIZE=2 × THREADS=2", env: { POOL_SIZE: "2", THREADS: "2" } });
  const out: Record<string, unknown>[] = [];
  let baseline: number | null = null;
  for (const config of configs) {
    await withServer(config.env, async (server) => {
      const alone = await transcribeViaServer(server.base, clip.path, "en");
      const began = Date.now();
      await Promise.all([transcribeViaServer(server.base, clip.path, "en"), transcribeViaServer(server.base, clip.path, "en")]);
      const pair = (Date.now() - began) / 1000;
      baseline ??= alone.wallSeconds;
      const entry = { config: config.name, aloneRtf: r2(alone.wallSeconds / clip.seconds), pairRtf: r2(pair / (2 * clip.seconds)), speedup: r2((2 * alone.wallSeconds) / pair), speedupVsDefaultAlone: r2((2 * baseline) / pair) };
      out.push(entry);
      log(`throughput ${config.name}: alone ${alone.wallSeconds.toFixed(1)} s, two at once ${pair.toFixed(1)} s`);
    });
  }
  results.throughput = { clip: clip.name, audioSeconds: clip.seconds, configs: out };
  for (const e of out) {
    rows.push({ item: "3 throughput", what: `${e.config}: RTF alone / two at once (per job)`, value: `${e.aloneRtf} / ${e.pairRtf}`, target: "", met: null });
    rows.push({ item: "3 throughput", what: `${e.config}: two jobs vs one alone (vs default alone)`, value: `${e.speedup}x (${e.speedupVsDefaultAlone}x)`, target: "≥ 1.8x", met: (e.speedup as number) >= 1.8 });
  }
}

/** 4. One job, 1,000 WebSocket + 1,000 SSE subscribers. */
async function fanout(clip: Clip): Promise<void> {
  const r = await withServer({}, (server) => measureFanout(server, clip.path, FANOUT_CLIENTS));
  results.fanout = r;
  log(`fan-out: ${r.liveEvents} live events, p50 ${r.delayMs.all.p50} ms, p99 ${r.delayMs.all.p99} ms`);
  rows.push({ item: "4 fan-out", what: `p50 / p99 delay, ${r.liveEvents} events × 2,000 clients (ws p99 ${r.delayMs.ws.p99}, sse p99 ${r.delayMs.sse.p99})`, value: `${r.delayMs.all.p50} / ${r.delayMs.all.p99} ms`, target: "p99 ≤ 50 ms", met: r.delayMs.all.p99 <= 50 && r.missed === 0 });
  rows.push({ item: "4 fan-out", what: `server RSS without / with 2,000 subscribers (missed deliveries: ${r.missed})`, value: `${Math.round(r.rssWithoutMb)} / ${Math.round(r.rssWithMb)} MB`, target: "", met: null });
}

interface TimeToFirst {
  fromStart: number;
  fromFirst30s: number;
  beforeUploadEnd: boolean;
}

function firstSegment(events: JobEvent[]): JobEvent | undefined {
  return events.find((e) => e.type === "segment");
}

function timeToFirst(events: JobEvent[], timing: { startedAt: number; markAt: number | null; bodyDoneAt: number }): TimeToFirst {
  const at = Date.parse(firstSegment(events)!.at);
  return { fromStart: r2((at - timing.startedAt) / 1000), fromFirst30s: r2((at - (timing.markAt ?? timing.startedAt)) / 1000), beforeUploadEnd: at < timing.bodyDoneAt };
}

/** The longest pause between progress events while the job ran (smoothness). */
function longestProgressGap(events: JobEvent[]): number {
  const times = events.filter((e) => e.type === "progress").map((e) => Date.parse(e.at));
  return r2(Math.max(0, ...times.slice(1).map((t, i) => t - times[i]!)) / 1000);
}

/**
 * 2 + 5 (+ 6 long part). Time to first segment and peak memory on the long file; memory on one
 * minute. Quick runs stop the long job once it is fully uploaded and decoded and three windows
 * are transcribed: by then a server that kept the audio in memory would hold all of it.
 */
async function longFile(long: Clip, minute: Clip): Promise<string | null> {
  const idle = await withServer({}, async (server) => memoryOf(server.child.pid!));
  const short = await withServer({}, async (server) => {
    await transcribeViaServer(server.base, minute.path, "en");
    return memoryOf(server.child.pid!);
  });
  const mark = wavBytesFor(30);
  return withServer({}, async (server) => {
    const timing = await upload(server.base, long.path, { markBytes: mark, query: "language=en" });
    let peak = memoryOf(server.child.pid!);
    const events = quick
      ? await cancelWhen(server.base, timing.id, (s) => s.progress.stage === "transcribe" && s.progress.processedSeconds >= 90, () => (peak = memoryOf(server.child.pid!)))
      : await followJob(server.base, timing.id);
    const done = events.at(-1);
    if (!quick && done?.type !== "completed") throw new Error(`long job ended with ${JSON.stringify(done)}`);
    if (!quick) peak = memoryOf(server.child.pid!);
    const full = timeToFirst(events, timing);
    log(`long file at full speed: first segment ${full.fromStart} s after upload start, ${done?.type} after ${((Date.parse(done!.at) - timing.startedAt) / 1000).toFixed(1)} s`);
    const slow = await upload(server.base, long.path, { markBytes: mark, bytesPerSecond: UPLOAD_RATE, query: "language=en" });
    const slowEvents = await cancelWhen(server.base, slow.id, (s) => s.segments.length > 0);
    const throttled = timeToFirst(slowEvents, slow);
    const uploadSeconds = r2((slow.bodyDoneAt - slow.startedAt) / 1000);
    results.timeToFirstSegment = { file: long.name, audioSeconds: long.seconds, fullSpeed: full, throttled: { ...throttled, bytesPerSecond: UPLOAD_RATE, uploadSeconds }, longestProgressGapSeconds: longestProgressGap(events), progressEvents: events.filter((e) => e.type === "progress").length };
    results.memory = { idleMb: idle, oneMinute: { file: minute.name, ...short }, long: { file: long.name, completed: !quick, ...peak } };
    rows.push({ item: "2 first segment", what: `full speed: from upload start / from first 30 s sent`, value: `${full.fromStart} / ${full.fromFirst30s} s`, target: "≤ 3 s after 30 s", met: full.fromFirst30s <= 3 });
    rows.push({ item: "2 first segment", what: `throttled ${(UPLOAD_RATE / 1048576).toFixed(0)} MB/s (upload ${uploadSeconds} s): from start / from first 30 s; before upload end: ${throttled.beforeUploadEnd ? "yes" : "no"}`, value: `${throttled.fromStart} / ${throttled.fromFirst30s} s`, target: "≤ 3 s after 30 s", met: throttled.fromFirst30s <= 3 });
    const longWhat = quick ? `${Math.round(long.seconds / 60)}-min file (uploaded, decoded, 3 windows)` : `${Math.round(long.seconds / 60)}-min file`;
    rows.push({ item: "5 memory", what: `peak RSS (VmHWM) ${longWhat} vs 1-min file (idle server ${Math.round(idle.peakMb)} MB)`, value: `${Math.round(peak.peakMb)} vs ${Math.round(short.peakMb)} MB`, target: "within ~50 MB", met: Math.abs(peak.peakMb - short.peakMb) <= 50 });
    return done?.type === "completed" ? done.text : null;
  });
}

async function main(): Promise<void> {
  const began = Date.now();
  log(`${quick ? "quick" : "full"} run; audio from ${AUDIO_DIR}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  const clips = recordings();
  const long = concatenated(clips, 600, WORK_DIR);
  const minute = head(long, 60, WORK_DIR);
  const build = whisperBuildInfo();
  results.machine = { cpus: CPUS, cpuModel: os.cpus()[0]?.model, node: process.version, build, loadAverageAtStart: os.loadavg() };
  results.quick = quick;
  results.note = "Shared 2-core machine with other work running; compare the ratios within this run, not absolute seconds across runs.";

  await buildComparison(clips.filter((c) => (quick ? ["jfk_inaugural_16k.wav"] : ["jfk_inaugural_16k.wav", "librispeech_1221-135766-0001.wav"]).includes(c.name)), quick ? 1 : 2);
  const kit = await overheadAndAccuracy(quick ? clips.filter((c) => QUICK_FILES.includes(c.name)) : clips);
  await throughput(quick ? head(long, 30, WORK_DIR) : minute);
  await fanout(minute);
  const windowedLong = await longFile(long, minute);

  const refs = clips.filter((c) => !quick || QUICK_FILES.includes(c.name)).map((c) => c.reference);
  const kitSingle = pooledWer(refs, kit.bare);
  const kitWindowed = pooledWer(refs, kit.server);
  const accuracy: Record<string, unknown> = { kit: { singlePass: kitSingle, windowed: kitWindowed } };
  rows.push({ item: "6 accuracy", what: "pooled WER, kit recordings: windowed server vs single pass", value: `${pct(kitWindowed)} vs ${pct(kitSingle)}`, target: "≤ +0.5 pt", met: kitWindowed - kitSingle <= 0.005 });
  if (windowedLong !== null) {
    const longWindowed = wordErrorRate(long.reference, windowedLong).wer;
    const sw = loadBuild("native", log).module;
    const model = await loadModel(sw);
    const single = await transcribeBare(sw, model, decodePcm(long.path), { language: "en", threads: THREADS });
    await model.free();
    const longSingle = wordErrorRate(long.reference, single.text).wer;
    accuracy.long = { file: long.name, singlePass: longSingle, windowed: longWindowed, singlePassSeconds: single.seconds };
    rows.push({ item: "6 accuracy", what: `WER ${Math.round(long.seconds / 60)}-min file: windowed server vs single pass`, value: `${pct(longWindowed)} vs ${pct(longSingle)}`, target: "≤ +0.5 pt", met: longWindowed - longSingle <= 0.005 });
  }
  results.accuracy = accuracy;

  results.loadAverageAtEnd = os.loadavg();
  results.runSeconds = Math.round((Date.now() - began) / 1000);
  results.table = rows;
  const file = path.join(OUT_DIR, `bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeJson(file, results);
  printTable(rows);
  console.log(`\n${quick ? "quick" : "full"} run, ${results.runSeconds} s; whisper.cpp ${build?.flags ?? "?"} (${build?.features.join(" ") ?? "?"}); results in ${path.relative(process.cwd(), file)}`);
}

await main();
