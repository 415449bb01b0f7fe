// Benchmark inputs: the kit recordings, their decoded PCM, and longer files concatenated from them.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { SAMPLE_RATE, s16ToFloat32 } from "../../server/src/audio/pcm.ts";
import { manifest, type Recording } from "../../server/test/support/audio.ts";

export { AUDIO_DIR } from "../../server/test/support/audio.ts";

export interface Clip {
  name: string;
  path: string;
  seconds: number;
  /** Reference transcript (the manifest's, joined for concatenations). */
  reference: string;
  /** ISO code from the manifest, or "auto" when unknown. */
  language: string;
}

export function recordings(): Clip[] {
  return manifest().map((r: Recording) => ({ name: r.file, path: r.path, seconds: r.durationSeconds, reference: r.transcript, language: r.language }));
}

/** Decodes any file to the 16 kHz mono float PCM the server feeds whisper (same s16 round trip). */
export function decodePcm(file: string): Float32Array {
  const out = execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-i", file, "-ac", "1", "-ar", String(SAMPLE_RATE), "-c:a", "pcm_s16le", "-f", "s16le", "pipe:1"], {
    maxBuffer: 1 << 30,
  });
  return s16ToFloat32(out);
}

/**
 * A 16 kHz mono WAV of `clips` one after another (round and round) until it lasts at least `minSeconds`, with its
 * reference transcript. English clips only, so one detected language fits the whole file, and each recording once per round.
 */
export function concatenated(clips: Clip[], minSeconds: number, workDir: string): Clip {
  const english = distinctRecordings(clips.filter((c) => c.language === "en"));
  const parts: Clip[] = [];
  for (let total = 0; total < minSeconds; total += parts.at(-1)!.seconds) parts.push(english[parts.length % english.length]!);
  const name = `concat-${parts.length}-clips.wav`;
  const file = path.join(workDir, name);
  mkdirSync(workDir, { recursive: true });
  if (!existsSync(file)) {
    const inputs = parts.flatMap((c) => ["-i", c.path]);
    const filter = `${parts.map((_, i) => `[${i}:a:0]aresample=${SAMPLE_RATE},aformat=channel_layouts=mono:sample_fmts=s16[a${i}]`).join(";")};${parts.map((_, i) => `[a${i}]`).join("")}concat=n=${parts.length}:v=0:a=1[out]`;
    run(["-y", "-hide_banner", "-loglevel", "error", ...inputs, "-filter_complex", filter, "-map", "[out]", ...WAV_OUT, file]);
  }
  return { name, path: file, seconds: probeSeconds(file), reference: parts.map((c) => c.reference).join(" "), language: "en" };
}

/**
 * One clip per recording: the kit holds some recordings twice (JFK as wav and flac) or in part
 * (the sonnet's head as ogg and mp4). Back to back, Whisper hears the repeat as its own echo and
 * leaves a whole sentence out, which would be charged to whatever is being measured.
 */
function distinctRecordings(clips: Clip[]): Clip[] {
  const key = (c: Clip) => c.reference.toLowerCase();
  return clips.filter((c, i) => !clips.some((o, j) => j !== i && key(o).startsWith(key(c)) && (key(o).length > key(c).length || j < i)));
}

/** The first `seconds` of a clip as a WAV (reference left empty: it is cut mid-transcript). */
export function head(clip: Clip, seconds: number, workDir: string): Clip {
  const name = `${path.parse(clip.name).name}-head${seconds}s.wav`;
  const file = path.join(workDir, name);
  if (!existsSync(file)) run(["-y", "-hide_banner", "-loglevel", "error", "-i", clip.path, "-t", String(seconds), ...WAV_OUT, file]);
  return { name, path: file, seconds: probeSeconds(file), reference: "", language: clip.language };
}

/** Plain 44-byte-header WAV (no metadata chunk), so byte offsets map to audio time. */
const WAV_OUT = ["-c:a", "pcm_s16le", "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact"];

function run(args: string[]): void {
  const r = spawnSync("ffmpeg", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr.slice(-1000)}`);
}

function probeSeconds(file: string): number {
  const out = execFileSync("ffprobe", ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", file], { encoding: "utf8" });
  return Number(out.trim());
}

/** Bytes of a 16 kHz mono s16 WAV that hold the first `seconds` of audio (44-byte header). */
export function wavBytesFor(seconds: number): number {
  return 44 + Math.round(seconds * SAMPLE_RATE) * 2;
}

export function writeJson(file: string, value: unknown): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(value, null, 2));
}
