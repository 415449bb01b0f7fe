// Whisper without the server: one in-process call on pre-decoded PCM, with the parameters the
// server's engine/whisper.ts uses, so the difference measured is the server's own cost.
import path from "node:path";
import type * as SmartWhisper from "smart-whisper";
import { KIT_MODELS } from "../../server/test/support/server.ts";

export const MODEL_FILE = path.join(process.env.MODEL_DIR ?? KIT_MODELS, "ggml-tiny-q8_0.bin");
/** The server's default (config.ts BEAM_SIZE). */
export const BEAM_SIZE = 5;

/** Bracketed tags such as "[BLANK_AUDIO]" are not words (the server drops them the same way). */
const NON_SPEECH = /^\s*(\[[^\]]*\]|\([^)]*\))\s*$/;

export interface BareResult {
  text: string;
  seconds: number;
}

export async function transcribeBare(
  sw: typeof SmartWhisper,
  model: SmartWhisper.WhisperModel,
  pcm: Float32Array,
  options: { language: string; threads: number },
): Promise<BareResult> {
  const began = performance.now();
  const task = await sw.TranscribeTask.run<"detail", false>(model, pcm, {
    language: options.language,
    translate: false,
    n_threads: options.threads,
    beam_size: BEAM_SIZE,
    strategy: sw.WhisperSamplingStrategy.WHISPER_SAMPLING_BEAM_SEARCH,
    suppress_non_speech_tokens: true,
    format: "detail",
  });
  const segments = await task.result;
  const seconds = (performance.now() - began) / 1000;
  const text = segments
    .filter((s) => !NON_SPEECH.test(s.text) && s.text.trim() !== "")
    .map((s) => s.text.trim())
    .join(" ");
  return { text, seconds };
}
