import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root, so relative defaults work whatever the working directory. */
export const ROOT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface Config {
  host: string;
  port: number;
  model: string;
  modelDir: string;
  poolSize: number;
  /** Threads per transcription; 0 means "share the CPUs among running transcriptions". */
  threads: number;
  beamSize: number;
  maxQueue: number;
  maxUploadBytes: number;
  maxAudioSeconds: number;
  jobTtlSeconds: number;
  sweepIntervalSeconds: number;
  ffmpegPath: string | null;
  windowSeconds: number;
  spoolDir: string;
  decodeTimeoutSeconds: number;
  shutdownGraceSeconds: number;
  logLevel: LogLevel;
}

export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** One row per setting: the README's configuration table is generated from the same facts. */
interface Setting<K extends keyof Config> {
  key: K;
  env: string;
  describe: string;
  parse: (raw: string | undefined) => Config[K];
}

export class ConfigError extends Error {}

function integer(env: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (raw: string | undefined): number => {
    if (raw === undefined || raw.trim() === "") return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new ConfigError(`${env}="${raw}" must be an integer between ${min} and ${max}`);
    }
    return value;
  };
}

function text(fallback: string) {
  return (raw: string | undefined): string => (raw === undefined || raw.trim() === "" ? fallback : raw.trim());
}

function oneOf<T extends string>(env: string, values: readonly T[], fallback: T) {
  return (raw: string | undefined): T => {
    if (raw === undefined || raw.trim() === "") return fallback;
    const value = raw.trim() as T;
    if (!values.includes(value)) throw new ConfigError(`${env}="${raw}" must be one of: ${values.join(", ")}`);
    return value;
  };
}

const cpus = Math.max(1, os.availableParallelism());

export const SETTINGS: { [K in keyof Config]: Setting<K> } = {
  host: { key: "host", env: "HOST", describe: "Interface to listen on", parse: text("0.0.0.0") },
  port: { key: "port", env: "PORT", describe: "HTTP/WebSocket port", parse: integer("PORT", 8080, 0, 65535) },
  model: {
    key: "model",
    env: "MODEL",
    describe: "Model name (e.g. `tiny-q8_0`, `base.en`) fetched when missing, or a path to a ggml .bin file",
    parse: text("tiny-q8_0"),
  },
  modelDir: {
    key: "modelDir",
    env: "MODEL_DIR",
    describe: "Directory searched first for models and where fetched models are stored",
    parse: (raw) => path.resolve(ROOT_DIR, text("models")(raw)),
  },
  poolSize: {
    key: "poolSize",
    env: "POOL_SIZE",
    describe: "Model contexts loaded, i.e. jobs transcribed at once (default: CPU count)",
    parse: integer("POOL_SIZE", cpus, 1, 64),
  },
  threads: {
    key: "threads",
    env: "THREADS",
    describe: "Threads per transcription; 0 = CPUs divided among the transcriptions running now",
    parse: integer("THREADS", 0, 0, 64),
  },
  beamSize: {
    key: "beamSize",
    env: "BEAM_SIZE",
    describe: "Beam search width (1 = greedy, faster; 5 = whisper.cpp CLI default)",
    parse: integer("BEAM_SIZE", 5, 1, 16),
  },
  maxQueue: {
    key: "maxQueue",
    env: "MAX_QUEUE",
    describe: "Jobs allowed to wait for a context; beyond it uploads get 503 + Retry-After",
    parse: integer("MAX_QUEUE", 100, 0, 100000),
  },
  maxUploadBytes: {
    key: "maxUploadBytes",
    env: "MAX_UPLOAD_MB",
    describe: "Largest upload in MB (413 as soon as it is exceeded)",
    parse: (raw) => integer("MAX_UPLOAD_MB", 500, 1, 100000)(raw) * 1024 * 1024,
  },
  maxAudioSeconds: {
    key: "maxAudioSeconds",
    env: "MAX_AUDIO_MINUTES",
    describe: "Longest audio accepted, in minutes of decoded audio",
    parse: (raw) => integer("MAX_AUDIO_MINUTES", 240, 1, 100000)(raw) * 60,
  },
  jobTtlSeconds: {
    key: "jobTtlSeconds",
    env: "JOB_TTL_SECONDS",
    describe: "How long an ended job (events, transcript) is kept",
    parse: integer("JOB_TTL_SECONDS", 7200, 1),
  },
  sweepIntervalSeconds: {
    key: "sweepIntervalSeconds",
    env: "SWEEP_INTERVAL_SECONDS",
    describe: "How often expired jobs are removed",
    parse: integer("SWEEP_INTERVAL_SECONDS", 60, 1),
  },
  ffmpegPath: {
    key: "ffmpegPath",
    env: "FFMPEG_PATH",
    describe: "ffmpeg binary (default: ffmpeg-static if installed, else `ffmpeg` on PATH)",
    parse: (raw) => (raw === undefined || raw.trim() === "" ? null : raw.trim()),
  },
  windowSeconds: {
    key: "windowSeconds",
    env: "WINDOW_SECONDS",
    describe: "Longest audio window transcribed at once (cut at a quiet point)",
    parse: integer("WINDOW_SECONDS", 30, 5, 30),
  },
  spoolDir: {
    key: "spoolDir",
    env: "SPOOL_DIR",
    describe: "Where decoded audio is spooled while a job runs (deleted when it ends)",
    parse: (raw) => path.resolve(text(path.join(os.tmpdir(), "whisperrr"))(raw)),
  },
  decodeTimeoutSeconds: {
    key: "decodeTimeoutSeconds",
    env: "DECODE_TIMEOUT_SECONDS",
    describe: "ffmpeg watchdog: fail a job whose decoder makes no progress for this long",
    parse: integer("DECODE_TIMEOUT_SECONDS", 60, 1),
  },
  shutdownGraceSeconds: {
    key: "shutdownGraceSeconds",
    env: "SHUTDOWN_GRACE_SECONDS",
    describe: "On SIGTERM/SIGINT, how long running jobs may finish before the rest are cancelled",
    parse: integer("SHUTDOWN_GRACE_SECONDS", 30, 0, 3600),
  },
  logLevel: {
    key: "logLevel",
    env: "LOG_LEVEL",
    describe: "debug, info, warn, error or silent",
    parse: oneOf("LOG_LEVEL", LOG_LEVELS, "info"),
  },
};

/** Reads and validates every setting; throws one ConfigError listing all problems. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const config: Partial<Record<keyof Config, unknown>> = {};
  for (const setting of Object.values(SETTINGS) as Setting<keyof Config>[]) {
    try {
      config[setting.key] = setting.parse(env[setting.env]);
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  }
  if (problems.length > 0) throw new ConfigError(`Invalid configuration:\n  ${problems.join("\n  ")}`);
  return config as Config;
}
