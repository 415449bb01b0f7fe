import { LIVE_CLOSE, type ErrorCode, type Language, type LiveAudioFormat, type LiveServerMessage, type Task } from "@whisperrr/shared";
import { SAMPLE_RATE, seconds } from "../audio/pcm.ts";
import { quietestCut } from "../audio/windows.ts";
import { transcribeWindow, type RawSegment } from "../engine/whisper.ts";
import type { PipelineDeps } from "../jobs/pipeline.ts";
import { LocalAgreement, type Word } from "./agreement.ts";
import { PcmBuffer } from "./buffer.ts";
import { createIntake, type AudioIntake } from "./intake.ts";
import { SpeechTracker } from "./speech.ts";

/** Above file jobs (priority 0): a live decode takes the next free context. */
const LIVE_PRIORITY = 10;
/** New audio needed before the buffer is decoded again. */
const STEP_SAMPLES = Math.round(0.5 * SAMPLE_RATE);
/** Less audio than this gives whisper too little to guess from (and it loops on the padding). */
const MIN_HYPOTHESIS_SAMPLES = Math.round(1.5 * SAMPLE_RATE);
/** Audio kept before the first speech frame, so the VAD's late onset does not clip the first word. */
const LEAD_IN_SAMPLES = Math.round(0.5 * SAMPLE_RATE);
/** whisper.cpp ignores input shorter than one second; shorter buffers are padded with silence. */
const MIN_DECODE_SAMPLES = Math.round(1.2 * SAMPLE_RATE);
const PROMPT_CHARS = 200;
/** Buffer capacity in multiples of LIVE_MAX_BUFFER_SECONDS: room for decodes slowed by a busy CPU. */
const BUFFER_FACTOR = 4;

export interface LiveOptions {
  format: LiveAudioFormat;
  language: Language;
  task: Task;
}

export interface LiveOutput {
  send(message: LiveServerMessage): void;
  /** Ends the socket; called once. */
  close(code: number, reason: string): void;
}

type DecodeMode = "agree" | "commit";

/**
 * One live session: audio in, VAD, repeated decodes of the uncommitted buffer, LocalAgreement-2
 * commits out as finals, the rest as partials. Ends with `ended` after `stop`, or with an error.
 */
export class LiveSession {
  private readonly buffer: PcmBuffer;
  private readonly speech: SpeechTracker;
  private readonly agreement = new LocalAgreement();
  private readonly intake: AudioIntake;
  private language: string;
  private finals: string[] = [];
  private lastFinalEnd = 0;
  private lastDecodedTo = 0;
  private lastPartial = "";
  private decoding = false;
  private stopping = false;
  private audioComplete = false;
  private closed = false;
  private idleTimer: NodeJS.Timeout | null = null;
  private readonly startedAt = performance.now();

  constructor(
    readonly id: string,
    private readonly options: LiveOptions,
    private readonly deps: PipelineDeps,
    private readonly out: LiveOutput,
  ) {
    const { config } = deps;
    this.language = options.language;
    this.buffer = new PcmBuffer(BUFFER_FACTOR * config.liveMaxBufferSeconds * SAMPLE_RATE);
    this.speech = new SpeechTracker(config.vadThreshold, Math.round((config.vadMinSilenceMs / 1000) * SAMPLE_RATE));
    this.intake = createIntake(
      options.format,
      {
        pcm: (samples) => this.onSamples(samples),
        end: () => void this.onAudioComplete(),
        failed: (f) => this.fail(f.code, f.message, LIVE_CLOSE.internalError),
      },
      { ffmpegPath: deps.ffmpegPath, stallTimeoutMs: (config.liveIdleTimeoutSeconds + 5) * 1000 },
    );
    this.touch();
    out.send({ type: "ready", sessionId: id, format: options.format, sampleRate: SAMPLE_RATE });
  }

  audio(bytes: Buffer): void {
    if (this.closed || this.stopping) return;
    this.touch();
    this.intake.write(bytes);
  }

  stop(): void {
    if (this.closed || this.stopping) return;
    this.stopping = true;
    this.clearIdle();
    this.intake.end();
  }

  /** The client went away: drop everything, send nothing. */
  abort(): void {
    this.closed = true;
    this.clearIdle();
    this.intake.destroy();
  }

  private fail(code: ErrorCode, message: string, closeCode: number): void {
    if (this.closed) return;
    this.deps.log.info({ sessionId: this.id, code }, `live session failed: ${message}`);
    this.out.send({ type: "error", code, message });
    this.finish(closeCode, code);
  }

  private onSamples(samples: Float32Array): void {
    if (this.closed) return;
    const ahead = seconds(this.buffer.end + samples.length) - (performance.now() - this.startedAt) / 1000;
    if (ahead > this.deps.config.liveMaxBufferSeconds) {
      return this.fail("live_overflow", `Audio arrives faster than real time (${Math.round(ahead)} s ahead of the clock); send it at real-time pace.`, LIVE_CLOSE.overflow);
    }
    if (!this.buffer.append(samples)) {
      return this.fail("live_overflow", "Transcription cannot keep up with the audio on this server; try again later.", LIVE_CLOSE.overflow);
    }
    void this.speech.analyze(this.buffer, () => this.pump());
  }

  private async onAudioComplete(): Promise<void> {
    await this.speech.finish(this.buffer, () => this.pump());
    this.audioComplete = true;
    this.pump();
  }

  /** Decides the next step; runs after every VAD batch and every decode. */
  private pump(): void {
    if (this.closed || this.decoding) return;
    const start = this.buffer.start;
    const analyzed = this.speech.analyzedTo;
    if (!this.speech.speechSince(start)) {
      if (this.audioComplete) return this.end();
      // Silence is dropped as it comes, keeping a short lead-in for the next utterance.
      if (analyzed - start > 2 * LEAD_IN_SAMPLES) this.dropBefore(analyzed - LEAD_IN_SAMPLES);
      return;
    }
    const utteranceEnd = this.speech.utteranceEnd(start);
    if (utteranceEnd !== null) return void this.decode(utteranceEnd, "commit");
    if (this.audioComplete) return void this.decode(analyzed, "commit");
    if (analyzed - start >= this.deps.config.liveMaxBufferSeconds * SAMPLE_RATE) return this.shorten();
    if (analyzed - start >= MIN_HYPOTHESIS_SAMPLES && analyzed - this.lastDecodedTo >= STEP_SAMPLES) void this.decode(analyzed, "agree");
  }

  /**
   * Long unbroken speech: the buffer is trimmed at the end of the last word two decodes agreed on,
   * keeping the uncommitted tail. With nothing agreed yet, it is cut at a quiet point and committed.
   */
  private shorten(): void {
    const last = this.agreement.lastCommitted;
    if (!last) {
      const start = this.buffer.start;
      return void this.decode(start + quietestCut(this.buffer.slice(start, this.speech.analyzedTo), 2), "commit");
    }
    this.buffer.trimTo(Math.round(last.end * SAMPLE_RATE));
    this.agreement.trimmedToCommitted();
    this.pump();
  }

  private dropBefore(at: number): void {
    this.buffer.trimTo(at);
    this.agreement.reset();
  }

  /** Transcribes the buffer up to `to`; "commit" makes all of it final and trims it away. */
  private async decode(to: number, mode: DecodeMode): Promise<void> {
    this.decoding = true;
    const from = this.buffer.start;
    try {
      const words = await this.transcribe(from, to);
      if (this.closed) return;
      if (mode === "commit") {
        this.commit(this.agreement.commitAll(words));
        this.buffer.trimTo(to);
        this.partial([]);
      } else {
        const { committed, tail } = this.agreement.update(words);
        this.commit(committed);
        this.partial(tail);
      }
      this.lastDecodedTo = to;
    } catch (err) {
      this.deps.log.error({ sessionId: this.id, err }, "live decode failed");
      return this.fail("transcription_failed", "Transcription failed inside the speech engine; the session was stopped.", LIVE_CLOSE.internalError);
    } finally {
      this.decoding = false;
    }
    this.pump();
  }

  private async transcribe(from: number, to: number): Promise<Word[]> {
    const pcm = this.buffer.slice(from, to);
    const input = pcm.length >= MIN_DECODE_SAMPLES ? pcm : padded(pcm);
    const { config, pool } = this.deps;
    const waited = performance.now();
    const lease = await pool.acquire(LIVE_PRIORITY);
    const began = performance.now();
    try {
      if (this.closed) return [];
      const segments = await transcribeWindow(
        lease.model,
        {
          pcm: input,
          language: this.language,
          translate: this.options.task === "translate",
          prompt: this.finals.join(" ").slice(-PROMPT_CHARS),
          threads: lease.threads,
          beamSize: config.liveBeamSize,
          wordTimestamps: true,
          audioContext: audioContextFor(input.length),
        },
        () => undefined,
      );
      if (this.language === "auto" && segments[0]) this.language = segments[0].lang;
      return toWords(segments, seconds(from), seconds(pcm.length));
    } finally {
      lease.release();
      const ms = (t: number) => Math.round(performance.now() - t);
      this.deps.log.debug({ sessionId: this.id, audioSeconds: seconds(pcm.length), waitMs: Math.round(began - waited), whisperMs: ms(began), threads: lease.threads }, "live decode");
    }
  }

  private commit(words: Word[]): void {
    if (words.length === 0) return;
    const text = words.map((w) => w.text).join(" ");
    const start = Math.max(this.lastFinalEnd, words[0]!.start);
    const end = Math.max(start, words.at(-1)!.end);
    this.lastFinalEnd = end;
    this.out.send({ type: "final", index: this.finals.length, text, start: round(start), end: round(end) });
    this.finals.push(text);
  }

  private partial(tail: Word[]): void {
    const text = tail.map((w) => w.text).join(" ");
    if (text === this.lastPartial) return;
    this.lastPartial = text;
    const start = tail[0]?.start ?? this.lastFinalEnd;
    this.out.send({ type: "partial", text, start: round(start), end: round(tail.at(-1)?.end ?? start) });
  }

  private end(): void {
    const text = this.finals.join(" ");
    const language = this.language === "auto" ? null : this.language;
    this.out.send({ type: "ended", text, finalCount: this.finals.length, durationSeconds: round(seconds(this.buffer.end)), language });
    this.finish(1000, "ended");
  }

  private finish(code: number, reason: string): void {
    this.closed = true;
    this.clearIdle();
    this.intake.destroy();
    this.out.close(code, reason);
  }

  private touch(): void {
    this.clearIdle();
    const limit = this.deps.config.liveIdleTimeoutSeconds;
    this.idleTimer = setTimeout(() => this.fail("idle_timeout", `Nothing received for ${limit} s (LIVE_IDLE_TIMEOUT_SECONDS); session closed.`, LIVE_CLOSE.idleTimeout), limit * 1000);
  }

  private clearIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }
}

/** Words with session times; words whisper placed in the silence padding are dropped. */
function toWords(segments: RawSegment[], offset: number, duration: number): Word[] {
  const words: Word[] = [];
  for (const s of segments) {
    for (const w of s.words ?? interpolated(s)) {
      if (!/[\p{L}\p{N}]/u.test(w.word) || w.from / 1000 >= duration) continue;
      const start = offset + Math.min(duration, w.from / 1000);
      words.push({ text: w.word, start, end: Math.max(start, offset + Math.min(duration, w.to / 1000)) });
    }
  }
  return words;
}

/** Without token times, a segment's words share its span in proportion to their length. */
function interpolated(s: RawSegment): { word: string; from: number; to: number }[] {
  const parts = s.text.split(/\s+/).filter(Boolean);
  const total = parts.reduce((n, p) => n + p.length + 1, 0);
  let at = 0;
  return parts.map((word) => {
    const from = s.from + ((s.to - s.from) * at) / total;
    at += word.length + 1;
    return { word, from, to: s.from + ((s.to - s.from) * at) / total };
  });
}

/** Encoder frames covering the buffer plus a second of margin, rounded up to a multiple of 64. */
function audioContextFor(samples: number): number {
  return Math.min(1500, Math.ceil(((samples / SAMPLE_RATE + 1) * 50) / 64) * 64);
}

function padded(pcm: Float32Array): Float32Array {
  const out = new Float32Array(MIN_DECODE_SAMPLES);
  out.set(pcm);
  return out;
}

const round = (n: number) => Math.round(n * 1000) / 1000;
