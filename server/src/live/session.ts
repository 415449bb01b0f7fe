import { LIVE_CLOSE, type ErrorCode, type Language, type LiveAudioFormat, type LiveServerMessage, type Task } from "@whisperrr/shared";
import { SAMPLE_RATE, seconds } from "../audio/pcm.ts";
import { quietestCut } from "../audio/windows.ts";
import { transcribeWindow } from "../engine/whisper.ts";
import type { PipelineDeps } from "../jobs/pipeline.ts";
import { LocalAgreement, type Word } from "./agreement.ts";
import { PcmBuffer } from "./buffer.ts";
import { createIntake, type AudioIntake } from "./intake.ts";
import { SpeechTracker } from "./speech.ts";
import { toWords } from "./words.ts";

/** Above file jobs (priority 0): a live decode takes the next free context. */
const LIVE_PRIORITY = 10;
/** New audio needed before the buffer is decoded again. */
const STEP_SAMPLES = Math.round(0.5 * SAMPLE_RATE);
/** Less audio than this gives whisper too little to guess from (and it loops on the padding). */
const MIN_HYPOTHESIS_SAMPLES = Math.round(1.5 * SAMPLE_RATE);
/** Audio kept before the first speech frame, so the VAD's late onset does not clip the first word. */
const LEAD_IN_SAMPLES = Math.round(0.5 * SAMPLE_RATE);
/** A cut stays this far behind what the VAD has seen: it scores the onset of a word late. */
const CUT_MARGIN_SAMPLES = Math.round(0.1 * SAMPLE_RATE);
/** whisper.cpp ignores input shorter than one second; shorter buffers are padded with silence. */
const MIN_DECODE_SAMPLES = Math.round(1.2 * SAMPLE_RATE);
const PROMPT_CHARS = 200;
const MIN_AUDIO_CONTEXT = 512;
const AUDIO_CONTEXT_MARGIN_SECONDS = 2;
/** Committed words kept for the prompt: more than PROMPT_CHARS holds, plus those still buffered. */
const PROMPT_WORDS = 200;
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

/** "agree": LocalAgreement-2 step; "commit": all of it is final (utterance end); "cut": up to a cut in speech. */
type DecodeMode = "agree" | "commit" | "cut";

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
  /** The latest committed words, with times: the prompt is built from those already trimmed away. */
  private said: Word[] = [];
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
   * Long unbroken speech: the buffer is decoded once more up to a cut and committed up to it, as at
   * the end of an utterance; committed words past the cut stay committed for the next buffer. The
   * cut is the longest pause the VAD found (a cut there falls between words, whatever whisper's
   * word times say: trimming at a committed word's end by its time cut away "can do for you", JFK's
   * "country" being placed a second late), else the quietest 20 ms of the last 2 s.
   */
  private shorten(): void {
    const start = this.buffer.start;
    const to = this.speech.analyzedTo - CUT_MARGIN_SAMPLES;
    const pause = this.speech.longestPause(start + MIN_HYPOTHESIS_SAMPLES, to);
    void this.decode(pause ?? start + quietestCut(this.buffer.slice(start, to), 2), "cut");
  }

  private dropBefore(at: number): void {
    this.buffer.trimTo(at);
    this.speech.forgetBefore(at);
    this.agreement.reset();
  }

  /** Transcribes the buffer up to `to`; "commit" and "cut" make it final up to `to` and trim it away. */
  private async decode(to: number, mode: DecodeMode): Promise<void> {
    this.decoding = true;
    const from = this.buffer.start;
    try {
      const words = await this.transcribe(from, to);
      if (this.closed) return;
      const { committed, tail } = mode === "agree" ? this.agreement.update(words) : { committed: this.agreement.commitAll(words, mode === "cut"), tail: [] };
      this.deps.log.debug({ sessionId: this.id, mode, fromSeconds: seconds(from), toSeconds: seconds(to), text: { heard: timed(words), committed: timed(committed), partial: timed(tail) } }, "live hypothesis");
      this.commit(committed);
      if (mode !== "agree") {
        this.buffer.trimTo(to);
        this.speech.forgetBefore(to);
      }
      this.partial(tail);
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
    const prompt = this.promptBefore(from);
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
          prompt,
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
      this.deps.log.debug({ sessionId: this.id, prompt, audioSeconds: seconds(pcm.length), waitMs: Math.round(began - waited), whisperMs: ms(began), threads: lease.threads }, "live decode");
    }
  }

  /**
   * Committed text whose audio is no longer in the buffer. Prompting with words the buffer still
   * holds makes whisper skip them (dropping the next word at alignment) or echo them (repeating).
   */
  private promptBefore(from: number): string {
    const start = seconds(from);
    return this.said.filter((w) => (w.start + w.end) / 2 < start).map((w) => w.text).join(" ").slice(-PROMPT_CHARS);
  }

  private commit(words: Word[]): void {
    if (words.length === 0) return;
    this.said = [...this.said, ...words].slice(-PROMPT_WORDS);
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

/**
 * Encoder frames (50 a second; whisper's full window is 1500 = 30 s) for a buffer: fewer frames
 * encode faster, but too few break whisper's timestamps. With the buffer + 1 s (at least 5 s), a
 * 3.2 s decode of JFK got its text right yet a segment ending at 7 s, the last three words squeezed
 * into the last 10 ms, and half the kit's short slices ended in a loop of the last phrase; with
 * the buffer + 2 s and at least 10 s, those loops mostly go and times stay inside the audio.
 */
function audioContextFor(samples: number): number {
  const frames = Math.max(MIN_AUDIO_CONTEXT, (samples / SAMPLE_RATE + AUDIO_CONTEXT_MARGIN_SECONDS) * 50);
  return Math.min(1500, Math.ceil(frames / 64) * 64);
}

function padded(pcm: Float32Array): Float32Array {
  const out = new Float32Array(MIN_DECODE_SAMPLES);
  out.set(pcm);
  return out;
}

/** Words with their times, for the debug log. */
const timed = (words: Word[]) => words.map((w) => `${w.text}@${w.start.toFixed(2)}-${w.end.toFixed(2)}`).join(" ");

const round = (n: number) => Math.round(n * 1000) / 1000;
