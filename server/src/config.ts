import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root, so relative defaults work whatever the working directory. */
export const ROOT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface Config {
  host: string;
  port: number;
  /** The browser client's build (index.html + _app/), served at `/`. */
  clientDir: string;
  model: string;
  modelDir: string;
  poolSize: number;
  /** Threads per transcription; 0 means "the CPUs divided evenly among the pool's contexts". */
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
  /** Debug only: log segment text (otherwise any transcript field in a log line is redacted). */
  logTranscripts: boolean;
  /** null: no key, every route is open. */
  apiKey: string | null;
  corsOrigins: string[];
  /** Job creations per client per minute; 0 = unlimited. */
  rateLimitPerMinute: number;
  metricsPublic: boolean;
  maxLiveSessions: number;
  liveIdleTimeoutSeconds: number;
  /** Uncommitted live audio past which the hypothesis is committed whole at a quiet point. */
  liveMaxBufferSeconds: number;
  liveBeamSize: number;
  vadThreshold: number;
  vadMinSilenceMs: number;
  vadFileJobs: boolean;
  /** null: one process, jobs and events in memory; set: replicas share jobs, events and the queue in Redis. */
  redisUrl: string | null;
  redisPrefix: string;
  replicaId: string;
  redisLeaseSeconds: number;
  maxJobAttempts: number;
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

/** Exact origins (`scheme://host[:port]`), comma-separated; a wildcard would defeat the allowlist. */
function origins(raw: string | undefined): string[] {
  const list = (raw ?? "").split(",").map((o) => o.trim()).filter(Boolean);
  const bad = list.filter((o) => !/^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$/i.test(o) && !/^https?:\/\/\[[0-9a-f:.]+\](:\d{1,5})?$/i.test(o));
  if (bad.length > 0) throw new ConfigError(`CORS_ORIGINS entries must be exact origins like https://app.example.com (no path, no *): ${bad.join(", ")}`);
  return list;
}

/** Sent in a header, so it must be visible ASCII without spaces. */
function secret(raw: string | undefined): string | null {
  if (raw === undefined || raw === "") return null;
  if (!/^[\x21-\x7e]+$/.test(raw)) throw new ConfigError("API_KEY must be printable ASCII without spaces");
  return raw;
}

function redisUrl(raw: string | undefined): string | null {
  if (raw === undefined || raw.trim() === "") return null;
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigError(`REDIS_URL="${raw}" is not a URL (expected redis://host:6379)`);
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") throw new ConfigError(`REDIS_URL must start with redis:// or rediss://, not ${url.protocol}//`);
  return raw.trim();
}

const cpus = Math.max(1, os.availableParallelism());

export const SETTINGS: { [K in keyof Config]: Setting<K> } = {
  host: { key: "host", env: "HOST", describe: "Interface to listen on", parse: text("0.0.0.0") },
  port: { key: "port", env: "PORT", describe: "HTTP/WebSocket port", parse: integer("PORT", 8080, 0, 65535) },
  clientDir: {
    key: "clientDir",
    env: "CLIENT_DIR",
    describe: "Built browser client served at `/` (`npm start` builds it when missing or stale)",
    parse: (raw) => path.resolve(ROOT_DIR, text("client/build")(raw)),
  },
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
    describe: "Threads per transcription; 0 = CPUs divided evenly among the POOL_SIZE contexts (1 each by default)",
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
  logTranscripts: {
    key: "logTranscripts",
    env: "LOG_TRANSCRIPTS",
    describe: "`true` (or `1`): log each segment's text, for debugging; otherwise no transcript text reaches the logs",
    parse: (raw) => ["true", "1"].includes(oneOf("LOG_TRANSCRIPTS", ["true", "false", "1", "0"], "false")(raw)),
  },
  apiKey: {
    key: "apiKey",
    env: "API_KEY",
    describe: "When set, every API route, event stream and WebSocket needs it (`Authorization: Bearer <key>` or `?access_token=<key>`)",
    parse: secret,
  },
  corsOrigins: {
    key: "corsOrigins",
    env: "CORS_ORIGINS",
    describe: "Other origins whose pages may call the API, comma-separated, matched exactly (e.g. `https://app.example.com`)",
    parse: origins,
  },
  rateLimitPerMinute: {
    key: "rateLimitPerMinute",
    env: "RATE_LIMIT_PER_MINUTE",
    describe: "Jobs one client (IP address) may create per minute; beyond it 429 + Retry-After; 0 = no limit",
    parse: integer("RATE_LIMIT_PER_MINUTE", 60, 0, 1000000),
  },
  metricsPublic: {
    key: "metricsPublic",
    env: "METRICS_PUBLIC",
    describe: "`true`: `/metrics` stays open when `API_KEY` is set",
    parse: (raw) => oneOf("METRICS_PUBLIC", ["true", "false"], "false")(raw) === "true",
  },
  maxLiveSessions: {
    key: "maxLiveSessions",
    env: "MAX_LIVE_SESSIONS",
    describe: "Live microphone sessions (`/ws/live`) at once; beyond it the socket gets `live_sessions_full` and is closed",
    parse: integer("MAX_LIVE_SESSIONS", 4, 0, 1000),
  },
  liveIdleTimeoutSeconds: {
    key: "liveIdleTimeoutSeconds",
    env: "LIVE_IDLE_TIMEOUT_SECONDS",
    describe: "A live session that receives nothing for this long is ended with `idle_timeout`",
    parse: integer("LIVE_IDLE_TIMEOUT_SECONDS", 15, 1, 3600),
  },
  liveMaxBufferSeconds: {
    key: "liveMaxBufferSeconds",
    env: "LIVE_MAX_BUFFER_SECONDS",
    describe: "Live audio kept uncommitted at most; longer unbroken speech is committed at a quiet point; a sender this far ahead of real time gets `live_overflow`",
    parse: integer("LIVE_MAX_BUFFER_SECONDS", 15, 5, 28),
  },
  liveBeamSize: {
    key: "liveBeamSize",
    env: "LIVE_BEAM_SIZE",
    describe: "Beam search width for live decodes (1 = greedy, the fastest)",
    parse: integer("LIVE_BEAM_SIZE", 1, 1, 16),
  },
  vadThreshold: {
    key: "vadThreshold",
    env: "VAD_THRESHOLD",
    describe: "Silero VAD speech probability (percent) from which a 32 ms frame counts as speech",
    parse: (raw) => integer("VAD_THRESHOLD", 50, 1, 99)(raw) / 100,
  },
  vadMinSilenceMs: {
    key: "vadMinSilenceMs",
    env: "VAD_MIN_SILENCE_MS",
    describe: "Pause that ends an utterance: live text before it is committed at once",
    parse: integer("VAD_MIN_SILENCE_MS", 500, 100, 5000),
  },
  vadFileJobs: {
    key: "vadFileJobs",
    env: "VAD_FILE_JOBS",
    describe: "`true`: file jobs also run the VAD, skip windows without speech and drop text over non-speech",
    parse: (raw) => oneOf("VAD_FILE_JOBS", ["true", "false"], "false")(raw) === "true",
  },
  redisUrl: {
    key: "redisUrl",
    env: "REDIS_URL",
    describe: "`redis://[user:pass@]host:port[/db]`: run as one of N replicas sharing jobs, events and the queue in Redis (SPOOL_DIR must then be a volume all replicas mount); unset: one process, in memory",
    parse: redisUrl,
  },
  redisPrefix: {
    key: "redisPrefix",
    env: "REDIS_PREFIX",
    describe: "Prefix of every Redis key, so several deployments can share one Redis",
    parse: (raw) => {
      const prefix = text("whisperrr")(raw);
      if (!/^[\w.-]{1,64}$/.test(prefix)) throw new ConfigError(`REDIS_PREFIX="${raw}" must be 1-64 letters, digits, '.', '_' or '-'`);
      return prefix;
    },
  },
  replicaId: {
    key: "replicaId",
    env: "REPLICA_ID",
    describe: "This replica's name in Redis (queue consumer, liveness key); must differ between replicas",
    parse: text(`${os.hostname()}-${process.pid}`),
  },
  redisLeaseSeconds: {
    key: "redisLeaseSeconds",
    env: "REDIS_LEASE_SECONDS",
    describe: "A replica renews its claim on its running jobs every third of this; a job unclaimed this long (replica dead) is retried by another",
    parse: integer("REDIS_LEASE_SECONDS", 15, 3, 3600),
  },
  maxJobAttempts: {
    key: "maxJobAttempts",
    env: "MAX_JOB_ATTEMPTS",
    describe: "Attempts per job in Redis mode (a retry follows a replica's death); then the job fails with `worker_lost`",
    parse: integer("MAX_JOB_ATTEMPTS", 3, 1, 100),
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
