// @ts-nocheck: runs in the AudioWorkletGlobalScope, whose globals (AudioWorkletProcessor,
// sampleRate, registerProcessor) the DOM typings used for the rest of the client do not declare.
// AudioWorklet processor: the microphone at the context's rate (44.1/48 kHz) in, 16 kHz mono out.
// Each output sample is the mean of the input samples its interval covers (a box low-pass
// before decimation), which keeps speech intelligible without aliasing hiss. Posts ~100 ms
// Float32Array chunks and the chunk's peak level for the meter.
const TARGET_RATE = 16000;
const CHUNK = 1600;

class PcmDownsampler extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / TARGET_RATE;
    this.position = 0;
    this.sum = 0;
    this.count = 0;
    this.out = new Float32Array(CHUNK);
    this.filled = 0;
    this.peak = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      const v = channel[i];
      this.sum += v;
      this.count++;
      this.peak = Math.max(this.peak, Math.abs(v));
      this.position += 1;
      if (this.position >= this.step) {
        this.position -= this.step;
        this.out[this.filled++] = this.sum / this.count;
        this.sum = 0;
        this.count = 0;
        if (this.filled === CHUNK) this.flush();
      }
    }
    return true;
  }

  flush() {
    this.port.postMessage({ samples: this.out, peak: this.peak });
    this.out = new Float32Array(CHUNK);
    this.filled = 0;
    this.peak = 0;
  }
}

registerProcessor("pcm-downsampler", PcmDownsampler);
