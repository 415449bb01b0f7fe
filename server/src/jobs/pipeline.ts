import type { Writable } from "node:stream";
import type { ErrorCode } from "@whisperrr/shared";
import { FfmpegDecoder, type DecoderOptions } from "../audio/decode.ts";
import { UploadCopy } from "../audio/upload-copy.ts";
import { SAMPLE_RATE, seconds } from "../audio/pcm.ts";
import { PcmSpool, type PcmSource } from "../audio/spool.ts";
import { hasSpeech, speechProbabilities } from "../audio/vad.ts";
import { isBackground, isSilent, quietestCut, speechLevel } from "../audio/windows.ts";
import type { Config } from "../config.ts";
import type { ModelPool } from "../engine/pool.ts";
import { transcribeWindow } from "../engine/whisper.ts";
import type { Logger } from "../log.ts";
import type { Job } from "./job.ts";

export interface PipelineDeps {
  config: Config;
  pool: ModelPool;
  ffmpegPath: string;
  log: Logger;
}

/** A failure with its own stable code, raised by a PcmSource (e.g. the shared spool in Redis mode). */
export class JobFailure extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** whisper.cpp ignores input shorter than one second; short tails are padded with silence. */
const MIN_WINDOW_SAMPLES = Math.round(1.5 * SAMPLE_RATE);
/** Characters of preceding text given to the next window as its prompt. */
const PROMPT_CHARS = 200;

export interface DecodeHandle {
  /** Write the uploaded bytes here; `false` from write() means wait for 'drain'. */
  input: Writable;
  spool: PcmSpool;
}

/**
 * Starts decoding a job's upload: bytes stream into ffmpeg as they arrive and the PCM is spooled
 * to disk. An MP4/MOV whose index comes last cannot be decoded from a pipe; it is decoded a
 * second time from the upload's copy on disk once the upload is complete. `keepSpool`: the PCM
 * outlives this job object (Redis mode: another replica transcribes it and deletes it).
 */
export async function startDecode(job: Job, deps: PipelineDeps, keepSpool = false): Promise<DecodeHandle> {
  const spool = await PcmSpool.create(deps.config.spoolDir, job.id);
  const copy = new UploadCopy(deps.config.spoolDir, job.id);
  const lastPass = async () => {
    void copy.dispose();
    // The PCM is complete; a spool kept for another replica needs no open handle here any more.
    if (keepSpool) await spool.close();
    return true;
  };
  let decoder = runDecoder(job, deps, spool, undefined, async () => {
    if (!decoder.needsSeekableInput || spool.samples > 0 || !decoder.inputFormat.startsWith("mov")) return lastPass();
    await copy.complete;
    decoder = runDecoder(job, deps, spool, { path: copy.file, format: "mov" }, lastPass);
    return false;
  });
  const input = copy.tee(decoder.input);
  job.onEnd(() => {
    decoder.kill({ code: "internal_error", message: "job ended" });
    input.destroy();
    void (keepSpool ? spool.close() : spool.dispose());
    void copy.dispose();
  });
  spool.onAppend = (samples) => {
    job.facts.decodedSeconds = seconds(samples);
    if (job.facts.decodedSeconds > deps.config.maxAudioSeconds) decoder.kill(tooLong(deps.config));
    job.reportProgress();
  };
  return { input, spool };
}

const tooLong = (config: Config) => ({
  code: "audio_too_long" as const,
  message: `The audio is longer than the ${config.maxAudioSeconds / 60} minute limit (MAX_AUDIO_MINUTES).`,
});

/** One ffmpeg pass into the spool; `finished` decides whether this pass ends the audio. */
function runDecoder(job: Job, deps: PipelineDeps, spool: PcmSpool, file: DecoderOptions["file"], finished: () => Promise<boolean>): FfmpegDecoder {
  const output = spool.writable();
  const decoder = new FfmpegDecoder(output, { ffmpegPath: deps.ffmpegPath, stallTimeoutMs: deps.config.decodeTimeoutSeconds * 1000, file });
  decoder.on("duration", (s) => {
    job.facts.headerSeconds = s;
    if (s > deps.config.maxAudioSeconds) decoder.kill(tooLong(deps.config));
  });
  decoder.on("failed", (failure) => {
    // A job that already ended killed its own decoder: nothing failed.
    if (job.ended) return spool.end();
    deps.log.warn({ jobId: job.id, stage: "decode", code: failure.code, reason: failure.message }, "decode failed");
    job.fail(failure.code, failure.message);
    spool.end();
  });
  // The audio is complete only when ffmpeg exited cleanly and its output reached the spool.
  let pending = 2;
  const onePartDone = () => {
    if (--pending > 0) return;
    void finished().then((last) => {
      if (!last) return;
      job.facts.decodeDone = true;
      spool.end();
      job.reportProgress();
    }, (err: unknown) => decoder.kill({ code: "decode_failed", message: `The upload could not be read back: ${String(err)}` }));
  };
  output.on("finish", onePartDone);
  decoder.on("end", onePartDone);
  return decoder;
}

/** Where transcription (re)starts: a window boundary, with the prompt and language carried to it. */
export interface Checkpoint {
  start: number;
  prompt: string;
  language: string;
  /** Segments the job had at `start`. */
  segments: number;
}

/**
 * Transcribes the spooled audio window by window as it arrives: each window ends at a quiet
 * point, borrows a model context only while whisper runs, and passes its text on as the next
 * window's prompt. Cancellation and failures take effect between windows. `resume` starts at a
 * checkpoint; `onWindow` is told each window boundary (Redis mode saves it for a retry).
 */
export async function transcribe(
  job: Job,
  spool: PcmSource,
  deps: PipelineDeps,
  resume?: Checkpoint,
  onWindow?: (checkpoint: Checkpoint) => Promise<void>,
): Promise<void> {
  const windowSamples = deps.config.windowSeconds * SAMPLE_RATE;
  let start = resume?.start ?? 0;
  let prompt = resume?.prompt ?? job.options.prompt ?? "";
  let language = resume?.language ?? (job.options.language as string);
  try {
    for (;;) {
      await spool.waitFor(start + windowSamples);
      if (job.ended) return;
      const available = spool.samples;
      if (available <= start) break;
      const last = spool.ended && available - start <= windowSamples;
      const chunk = await spool.read(start, Math.min(available, start + windowSamples));
      const length = last ? chunk.length : quietestCut(chunk);
      const pcm = chunk.subarray(0, length);
      // With VAD_FILE_JOBS, windows the VAD hears no speech in are skipped like silent ones.
      const speech = deps.config.vadFileJobs && !isSilent(pcm) ? await speechProbabilities(pcm) : null;
      if (!isSilent(pcm) && (!speech || hasSpeech(speech, deps.config.vadThreshold))) {
        const text = await transcribeOne(job, pcm, start, { language, prompt, speech }, deps);
        if (job.ended) return;
        if (language === "auto" && job.language) language = job.language;
        if (text) prompt = text.slice(-PROMPT_CHARS);
      }
      start += length;
      job.facts.transcribedSeconds = seconds(start);
      job.reportProgress();
      await onWindow?.({ start, prompt, language, segments: job.segments.length });
    }
    if (spool.ended && !job.ended) job.complete();
  } catch (err) {
    if (job.ended) return;
    if (err instanceof JobFailure) return job.fail(err.code, err.message);
    deps.log.error({ jobId: job.id, stage: "transcribe", err }, "transcription failed");
    job.fail("transcription_failed", "Transcription failed inside the speech engine; the job was stopped.");
  }
}

async function transcribeOne(
  job: Job,
  pcm: Float32Array,
  offset: number,
  context: { language: string; prompt: string; speech: Float32Array | null },
  deps: PipelineDeps,
): Promise<string> {
  const input = pcm.length >= MIN_WINDOW_SAMPLES ? pcm : padded(pcm);
  const lease = await deps.pool.acquire();
  const began = performance.now();
  try {
    if (job.ended) return "";
    const base = seconds(offset);
    const windowEnd = base + seconds(pcm.length);
    const kept: string[] = [];
    const speech = speechLevel(pcm);
    await transcribeWindow(
      lease.model,
      {
        pcm: input,
        language: context.language,
        translate: job.options.task === "translate",
        prompt: context.prompt,
        threads: lease.threads,
        beamSize: deps.config.beamSize,
        temperature: job.options.temperature,
        wordTimestamps: job.options.wordTimestamps,
      },
      (s) => {
        // Whisper invents words ("you", "Thank you.") over silence; a segment with no sound is dropped.
        const [from, to] = [Math.floor((s.from / 1000) * SAMPLE_RATE), Math.ceil((s.to / 1000) * SAMPLE_RATE)];
        if (isBackground(pcm.subarray(from, to), speech)) return;
        if (context.speech && !hasSpeech(context.speech, deps.config.vadThreshold, from, to)) return;
        job.language ??= s.lang;
        kept.push(s.text);
        const end = Math.min(windowEnd, base + s.to / 1000);
        const words = s.words?.map((w) => ({ word: w.word, start: round(base + w.from / 1000), end: round(Math.min(windowEnd, base + w.to / 1000)) }));
        job.addSegment(round(base + s.from / 1000), round(end), s.text, words);
        job.facts.transcribedSeconds = Math.max(job.facts.transcribedSeconds, Math.min(end, windowEnd));
        job.reportProgress();
      },
    );
    return kept.join(" ");
  } finally {
    const wall = (performance.now() - began) / 1000;
    job.facts.transcribeWallSeconds += wall;
    lease.release();
    deps.log.debug({ jobId: job.id, stage: "transcribe", windowStart: seconds(offset), windowSeconds: seconds(pcm.length), whisperMs: Math.round(wall * 1000), threads: lease.threads }, "window transcribed");
  }
}

function padded(pcm: Float32Array): Float32Array {
  const out = new Float32Array(MIN_WINDOW_SAMPLES);
  out.set(pcm);
  return out;
}

const round = (n: number) => Math.round(n * 1000) / 1000;
