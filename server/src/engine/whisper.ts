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
}

export interface RawSegment {
  /** Milliseconds from the start of the window. */
  from: number;
  to: number;
  text: string;
  lang: string;
}

/** Whisper marks non-speech with bracketed tags such as "[BLANK_AUDIO]"; they are not words. */
const NON_SPEECH = /^\s*(\[[^\]]*\]|\([^)]*\))\s*$/;

function keep(r: TranscribeDetailedResult<false>): RawSegment | null {
  if (NON_SPEECH.test(r.text) || r.text.trim() === "") return null;
  return { from: r.from, to: r.to, text: r.text.trim(), lang: r.lang };
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
  const task = await TranscribeTask.run<"detail", false>(model, req.pcm, {
    language: req.language,
    translate: req.translate,
    ...(req.prompt ? { initial_prompt: req.prompt } : {}),
    n_threads: req.threads,
    beam_size: req.beamSize,
    strategy: req.beamSize > 1 ? WhisperSamplingStrategy.WHISPER_SAMPLING_BEAM_SEARCH : WhisperSamplingStrategy.WHISPER_SAMPLING_GREEDY,
    suppress_non_speech_tokens: true,
    format: "detail",
  });
  let reported = 0;
  let finished = false;
  task.on("transcribed", (r) => {
    if (finished) return;
    reported++;
    const segment = keep(r);
    if (segment) onSegment(segment);
  });
  const results = await task.result;
  finished = true;
  for (const r of results.slice(reported)) {
    const segment = keep(r);
    if (segment) onSegment(segment);
  }
  return results.map(keep).filter((s): s is RawSegment => s !== null);
}
