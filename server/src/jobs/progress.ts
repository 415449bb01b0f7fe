import type { JobProgress, Stage } from "@whisperrr/shared";

/** What the pipeline knows at a moment; progress is derived from it, never stored twice. */
export interface PipelineFacts {
  uploadDone: boolean;
  uploadedBytes: number;
  /** Content-Length when the client sent one. */
  uploadTotalBytes: number | null;
  decodeDone: boolean;
  decodedSeconds: number;
  /** Duration ffmpeg read from the container header, when it had one. */
  headerSeconds: number | null;
  transcribedSeconds: number;
  /** Wall seconds spent transcribing so far (for the ETA). */
  transcribeWallSeconds: number;
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Best estimate of the audio length: exact once decoded, else the header, else extrapolated from bytes. */
export function estimateTotal(f: PipelineFacts): number | null {
  if (f.decodeDone) return f.decodedSeconds;
  if (f.headerSeconds !== null) return Math.max(f.headerSeconds, f.decodedSeconds);
  if (f.uploadTotalBytes && f.uploadedBytes > 0 && f.decodedSeconds > 0) {
    return (f.decodedSeconds * f.uploadTotalBytes) / f.uploadedBytes;
  }
  return null;
}

export function stageOf(f: PipelineFacts): Stage {
  if (!f.uploadDone) return "upload";
  if (!f.decodeDone) return "decode";
  return "transcribe";
}

/** Progress for the facts; `previous` keeps percent monotonic and below 100 until the job completes. */
export function computeProgress(f: PipelineFacts, previous: JobProgress | null): JobProgress {
  const total = estimateTotal(f);
  const raw = total && total > 0 ? (100 * f.transcribedSeconds) / total : 0;
  const percent = Math.max(previous?.percent ?? 0, Math.min(99, Math.floor(raw)));
  const rate = f.transcribedSeconds > 0 ? f.transcribeWallSeconds / f.transcribedSeconds : null;
  const eta = total !== null && rate !== null ? Math.max(0, (total - f.transcribedSeconds) * rate) : null;
  return {
    stage: stageOf(f),
    percent,
    processedSeconds: round(f.transcribedSeconds),
    totalSeconds: total === null ? null : round(total),
    etaSeconds: eta === null ? null : round(eta, 1),
  };
}
