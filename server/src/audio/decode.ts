import { spawn, type ChildProcessByStdio } from "node:child_process";
import { Transform, type Readable, type Writable } from "node:stream";
import { EventEmitter } from "node:events";
import type { ErrorCode } from "@whisperrr/shared";
import { SAMPLE_RATE } from "./pcm.ts";

export interface DecoderOptions {
  ffmpegPath: string;
  /** Read this file instead of stdin, with this demuxer forced (the second pass for MP4/MOV, see pipeline). */
  file?: { path: string; format: string };
  /** No input or output progress for this long while ffmpeg runs: it is killed. */
  stallTimeoutMs: number;
}

export interface DecodeFailure {
  code: ErrorCode;
  message: string;
}

/** Parses ffmpeg's "HH:MM:SS.cc" duration; null for "N/A" or anything unparseable. */
export function parseDuration(text: string | undefined): number | null {
  const m = text?.match(/^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/);
  if (!m) return null;
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
}

/**
 * The only demuxers ffmpeg may use: audio and video containers. Playlists and references (hls,
 * concat, sdp, rtp, dash, image2 sequences, tee…) are refused even if the stream looks like
 * one, so an upload can never make ffmpeg open another file or a URL.
 */
export const AUDIO_DEMUXERS = [
  "aac", "ac3", "aiff", "amr", "amrnb", "amrwb", "ape", "asf", "au", "avi", "caf", "dts", "dtshd", "eac3", "flac", "flv",
  "gsm", "loas", "matroska", "mov", "mp3", "mpc", "mpc8", "mpeg", "mpegts", "ogg", "oma", "rm", "shn", "tak", "tta", "voc",
  "w64", "wav", "wv", "xwma",
].join(",");

/** Turns ffmpeg's stderr into a stable code and a short human reason. */
export function classifyFailure(stderr: string, fallback: string): DecodeFailure {
  const refused = stderr.match(/\[(\w+) @ [^\]]+\] Format not on whitelist/)?.[1];
  if (refused) return { code: "unsupported_format", message: `Unsupported format "${refused}": upload an audio or video file.` };
  if (/matches no streams|does not contain any stream|Output file .* does not contain/i.test(stderr)) {
    return { code: "no_audio_stream", message: "The file has no audio track." };
  }
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !/^(ffmpeg version|built with|configuration:|lib\w+ +\d|Input #|Output #|Stream mapping|Press \[q\]|Metadata:|Duration:|Stream #)/.test(l));
  const reason = (lines.slice(-3).join(" | ") || fallback).slice(0, 300);
  return { code: "decode_failed", message: `ffmpeg could not decode the input: ${reason}` };
}

export interface Decoder extends EventEmitter {
  on(event: "duration", listener: (seconds: number) => void): this;
  on(event: "end", listener: () => void): this;
  on(event: "failed", listener: (failure: DecodeFailure) => void): this;
}

/**
 * One ffmpeg process: compressed bytes in on `input`, 16 kHz mono s16le out to `output`.
 * It may only read its stdin (or, for the MP4 second pass, the one file it is given) with an
 * audio/video demuxer (AUDIO_DEMUXERS): playlists and concat files cannot make it open files or URLs.
 * Spawned directly rather than through fluent-ffmpeg, whose stream input starts ffmpeg only
 * after probing capabilities and loses the end of short uploads that arrive before that.
 */
export class FfmpegDecoder extends EventEmitter implements Decoder {
  readonly input: Transform;
  /** The demuxer ffmpeg chose, e.g. "mov,mp4,m4a,3gp,3g2,mj2". */
  inputFormat = "";
  /** ffmpeg saw the media data before the index and could not seek back to it (MP4/MOV from a pipe). */
  needsSeekableInput = false;
  private proc: ChildProcessByStdio<Writable, Readable, Readable>;
  private stderrTail: string[] = [];
  private lastActivity = Date.now();
  private watchdog: NodeJS.Timeout;
  private settled = false;

  constructor(output: Writable, options: DecoderOptions) {
    super();
    const source = options.file
      ? ["-protocol_whitelist", "file", "-format_whitelist", AUDIO_DEMUXERS, "-f", options.file.format, "-enable_drefs", "0", "-i", options.file.path]
      : ["-protocol_whitelist", "pipe", "-format_whitelist", AUDIO_DEMUXERS, "-i", "pipe:0"];
    const args = ["-hide_banner", "-nostats", ...source, "-map", "0:a:0", "-vn", "-sn", "-dn", "-ac", "1", "-ar", String(SAMPLE_RATE), "-c:a", "pcm_s16le", "-f", "s16le", "pipe:1"];
    this.proc = spawn(options.ffmpegPath, args, { stdio: ["pipe", "pipe", "pipe"] });
    const touch = () => (this.lastActivity = Date.now());
    this.input = new Transform({
      highWaterMark: 1 << 20,
      transform: (chunk: Buffer, _enc, done) => {
        touch();
        done(null, chunk);
      },
    });
    // ffmpeg may exit before reading all input (bad data); the exit code reports that, not EPIPE.
    this.proc.stdin.on("error", () => undefined);
    this.input.pipe(this.proc.stdin);
    this.proc.stdout.on("data", touch);
    this.proc.stdout.pipe(output);
    this.readStderr();
    this.proc.on("error", (err) => this.finish("failed", { code: "decode_failed", message: `ffmpeg could not start: ${err.message}` }));
    this.proc.on("close", (code, signal) => {
      if (code === 0) this.finish("end");
      else this.finish("failed", classifyFailure(this.stderrTail.join("\n"), signal ? `killed by ${signal}` : `exit code ${code}`));
    });
    this.watchdog = setInterval(() => {
      if (Date.now() - this.lastActivity > options.stallTimeoutMs) {
        this.kill({ code: "decode_timeout", message: `ffmpeg made no progress for ${options.stallTimeoutMs / 1000} s and was stopped.` });
      }
    }, Math.min(1000, options.stallTimeoutMs)).unref();
  }

  /** Stops ffmpeg; `failure` is reported unless the decoder already finished. */
  kill(failure: DecodeFailure): void {
    this.finish("failed", failure);
    this.proc.kill("SIGKILL");
  }

  private readStderr(): void {
    let partial = "";
    this.proc.stderr.setEncoding("utf8");
    this.proc.stderr.on("data", (chunk: string) => {
      const lines = (partial + chunk).split(/\r?\n|\r/);
      partial = lines.pop() ?? "";
      for (const line of lines) this.onStderrLine(line);
    });
  }

  private onStderrLine(line: string): void {
    this.stderrTail.push(line);
    if (this.stderrTail.length > 40) this.stderrTail.shift();
    if (/partial file/.test(line)) this.needsSeekableInput = true;
    const format = line.match(/^Input #0, (.+?), from /)?.[1];
    if (format) this.inputFormat = format;
    const duration = parseDuration(line.match(/^\s*Duration: ([^,]+),/)?.[1]);
    if (duration !== null) this.emit("duration", duration);
  }

  private finish(event: "end" | "failed", failure?: DecodeFailure): void {
    if (this.settled) return;
    this.settled = true;
    clearInterval(this.watchdog);
    this.emit(event, failure);
  }
}
