/** Microphone capture: getUserMedia → AudioWorklet → 16 kHz mono float chunks. */
// A file URL, never inlined as data: (the page's Content-Security-Policy allows only its own origin).
import workletUrl from "./pcm-worklet.js?url&no-inline";

export interface Capture {
  stop(): Promise<void>;
}

export interface CaptureEvents {
  /** ~100 ms of 16 kHz mono samples. */
  chunk(samples: Float32Array): void;
  /** Peak level of the chunk, 0..1. */
  level(peak: number): void;
}

/** Why the microphone could not be used, in words for the person in front of it. */
export class MicrophoneError extends Error {
  constructor(
    readonly reason: "denied" | "missing" | "busy" | "unsupported",
    message: string,
  ) {
    super(message);
  }
}

function explain(err: unknown): MicrophoneError {
  const name = err instanceof DOMException ? err.name : "";
  if (name === "NotAllowedError" || name === "SecurityError") {
    return new MicrophoneError("denied", "Microphone access was denied. Allow it for this site in the browser's address bar, then press Start again.");
  }
  if (name === "NotFoundError" || name === "OverconstrainedError") {
    return new MicrophoneError("missing", "No microphone was found. Connect one (or enable it in the system settings) and press Start again.");
  }
  if (name === "NotReadableError" || name === "AbortError") {
    return new MicrophoneError("busy", "The microphone could not be started; another application may be using it.");
  }
  return new MicrophoneError("unsupported", `The microphone could not be opened: ${err instanceof Error ? err.message : String(err)}`);
}

export async function startCapture(events: CaptureEvents): Promise<Capture> {
  if (!navigator.mediaDevices?.getUserMedia || typeof AudioWorkletNode === "undefined") {
    throw new MicrophoneError("unsupported", "This browser cannot capture audio here. Use a current browser, over HTTPS or on localhost.");
  }
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true } });
  } catch (err) {
    throw explain(err);
  }
  const context = new AudioContext();
  try {
    await context.audioWorklet.addModule(workletUrl);
    const source = context.createMediaStreamSource(stream);
    const node = new AudioWorkletNode(context, "pcm-downsampler", { numberOfInputs: 1, numberOfOutputs: 0, channelCount: 1, channelCountMode: "explicit" });
    node.port.onmessage = (e: MessageEvent<{ samples: Float32Array; peak: number }>) => {
      events.level(e.data.peak);
      events.chunk(e.data.samples);
    };
    source.connect(node);
    await context.resume();
  } catch (err) {
    stream.getTracks().forEach((t) => t.stop());
    await context.close();
    throw new MicrophoneError("unsupported", `The audio processing could not start: ${err instanceof Error ? err.message : String(err)}`);
  }
  return {
    stop: async () => {
      stream.getTracks().forEach((t) => t.stop());
      await context.close();
    },
  };
}

/** Float samples to 16-bit little-endian PCM, the session's wire format. */
export function toS16le(samples: Float32Array): ArrayBuffer {
  const out = new DataView(new ArrayBuffer(samples.length * 2));
  for (let i = 0; i < samples.length; i++) {
    const v = Math.max(-1, Math.min(1, samples[i]!));
    out.setInt16(i * 2, v < 0 ? v * 0x8000 : v * 0x7fff, true);
  }
  return out.buffer;
}
