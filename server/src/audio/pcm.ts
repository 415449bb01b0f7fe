/** Everything downstream of the decoder works on 16 kHz mono audio. */
export const SAMPLE_RATE = 16_000;
/** The decoder writes signed 16-bit little-endian samples: half the bytes of float32, same information. */
export const BYTES_PER_SAMPLE = 2;

export function s16ToFloat32(bytes: Buffer): Float32Array {
  const out = new Float32Array(bytes.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readInt16LE(i * 2) / 32768;
  return out;
}

export function seconds(samples: number): number {
  return samples / SAMPLE_RATE;
}
