import { SAMPLE_RATE } from "./pcm.ts";

const FRAME = SAMPLE_RATE / 50; // 20 ms energy frames
/** Below this RMS (about -50 dBFS) a stretch of audio is treated as silence. */
export const SILENCE_RMS = 0.003;

function rms(pcm: Float32Array, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += pcm[i]! * pcm[i]!;
  return to > from ? Math.sqrt(sum / (to - from)) : 0;
}

/**
 * Where to end a window of `pcm` (which starts at the window start): the quietest 20 ms frame in
 * the last `searchSeconds`, so the cut falls between words rather than inside one. The cut is
 * placed mid-frame; ties go to the later frame to keep windows long.
 */
export function quietestCut(pcm: Float32Array, searchSeconds = 5): number {
  const end = pcm.length - (pcm.length % FRAME);
  const from = Math.max(FRAME, end - searchSeconds * SAMPLE_RATE);
  let best = end;
  let bestEnergy = Infinity;
  for (let at = end - FRAME; at >= from; at -= FRAME) {
    const energy = rms(pcm, at, at + FRAME);
    if (energy < bestEnergy) {
      bestEnergy = energy;
      best = at + FRAME / 2;
    }
  }
  return best;
}

/** The loudest 20 ms frame's RMS. */
export function peakLevel(pcm: Float32Array): number {
  let peak = 0;
  for (let at = 0; at < pcm.length; at += FRAME) peak = Math.max(peak, rms(pcm, at, Math.min(pcm.length, at + FRAME)));
  return peak;
}

/** The level speech reaches in `pcm`: the 90th percentile of its 20 ms frame RMS values. */
export function speechLevel(pcm: Float32Array): number {
  const levels: number[] = [];
  for (let at = 0; at + FRAME <= pcm.length; at += FRAME) levels.push(rms(pcm, at, at + FRAME));
  levels.sort((a, b) => a - b);
  return levels[Math.floor(levels.length * 0.9)] ?? 0;
}

/** True when no 20 ms frame rises above the silence threshold: nothing for Whisper to hear. */
export function isSilent(pcm: Float32Array): boolean {
  return peakLevel(pcm) <= SILENCE_RMS;
}

/**
 * True when a stretch never gets near the speech level of its surroundings: background noise
 * under the talker, where Whisper tends to invent words ("you", "Thank you.").
 */
export function isBackground(stretch: Float32Array, speech: number): boolean {
  return peakLevel(stretch) < Math.max(SILENCE_RMS, 0.25 * speech);
}
