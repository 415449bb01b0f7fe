import { TranscribeTask, WhisperModel, WhisperSamplingStrategy, type TranscribeDetailedResult } from "smart-whisper";

export { WhisperModel };

export interface WindowRequest {
  pcm: Float32Array;
  /** ISO code, or "auto" to detect. */
  language: string;
  translate: boolean;
  /** Text of the audio just before this window, so words and style carry over the cut. */
  prompt: string;
  threads: number;
  beamSize: number;
  /** Temperature of the first decoding attempt; whisper still falls back to higher ones when decoding fails. */
  temperature?: number;
  /** Adds word timings from whisper's token timestamps; segments are then reported when the window ends. */
  wordTimestamps?: boolean;
  /**
   * Encoder frames to use (50 per second of audio, 1500 = the full 30 s). Whisper always encodes
   * 30 s; a short live buffer encodes several times faster with a context sized to it.
   */
  audioContext?: number;
}

export interface RawSegment {
  /** Milliseconds from the start of the window. */
  from: number;
  to: number;
  text: string;
  lang: string;
  /** Only with `wordTimestamps`; milliseconds from the start of the window. */
  words?: RawWord[];
}

export interface RawWord {
  word: string;
  from: number;
  to: number;
}

/** Whisper marks non-speech with bracketed tags such as "[BLANK_AUDIO]"; they are not words. */
const NON_SPEECH = /^\s*(\[[^\]]*\]|\([^)]*\))\s*$/;

/** Control tokens carry no text: [_BEG_], [_TT_123], <|en|>, <|endoftext|>. */
const SPECIAL_TOKEN = /^(\[_[A-Z]+_?\d*\]|<\|[^|]*\|>)$/;

type Token = TranscribeDetailedResult<boolean>["tokens"][number];

/**
 * Whisper's tokens are sub-word pieces; a piece that begins with a space begins a word.
 * A word spans its first piece's start to its last piece's end.
 */
export function tokensToWords(tokens: Token[], text: string): RawWord[] {
  const words: RawWord[] = [];
  for (const token of tokens) {
    if (SPECIAL_TOKEN.test(token.text) || token.from === undefined || token.to === undefined) continue;
    const last = words.at(-1);
    if (!last || /^\s/.test(token.text)) words.push({ word: token.text.trim(), from: token.from, to: token.to });
    else {
      last.word += token.text;
      last.to = Math.max(last.to, token.to);
    }
  }
  const spoken = words.filter((w) => w.word !== "");
  // A multi-byte character split across tokens decodes as U+FFFD piece by piece; the segment text has it whole.
  const written = text.split(/\s+/).filter(Boolean);
  if (written.length === spoken.length) spoken.forEach((w, i) => (w.word = written[i]!));
  return spoken;
}

function keep(r: TranscribeDetailedResult<boolean>, withWords: boolean): RawSegment | null {
  if (NON_SPEECH.test(r.text) || r.text.trim() === "") return null;
  const text = r.text.trim();
  return { from: r.from, to: r.to, text, lang: r.lang, ...(withWords ? { words: tokensToWords(r.tokens, text) } : {}) };
}

/**
 * Transcribes one window on one model context. Segments are reported as whisper finishes each
 * one; the final result is authoritative, so any segment not yet reported is reported then.
 */
export async function transcribeWindow(
  model: WhisperModel,
  req: WindowRequest,
  onSegment: (segment: RawSegment) => void,
): Promise<RawSegment[]> {
  const withWords = req.wordTimestamps === true;
  const task = await TranscribeTask.run<"detail", boolean>(model, req.pcm, {
    language: req.language,
    translate: req.translate,
    ...(req.prompt ? { initial_prompt: req.prompt } : {}),
    n_threads: req.threads,
    beam_size: req.beamSize,
    strategy: req.beamSize > 1 ? WhisperSamplingStrategy.WHISPER_SAMPLING_BEAM_SEARCH : WhisperSamplingStrategy.WHISPER_SAMPLING_GREEDY,
    suppress_non_speech_tokens: true,
    ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
    token_timestamps: withWords,
    ...(req.audioContext ? { audio_ctx: req.audioContext } : {}),
    format: "detail",
  });
  let reported = 0;
  let finished = false;
  // Token timestamps exist only in the final result, so word requests skip the early reports.
  task.on("transcribed", (r) => {
    if (finished || withWords) return;
    reported++;
    const segment = keep(r, false);
    if (segment) onSegment(segment);
  });
  const results = await task.result;
  finished = true;
  for (const r of results.slice(reported)) {
    const segment = keep(r, withWords);
    if (segment) onSegment(segment);
  }
  return results.map((r) => keep(r, withWords)).filter((s): s is RawSegment => s !== null);
}
