import os from "node:os";
import uWS from "uWebSockets.js";
import { FfmpegMissingError, findFfmpeg } from "./audio/ffmpeg-binary.ts";
import type { Config } from "./config.ts";
import { whisperBuildInfo } from "./engine/build-info.ts";
import { ModelPool } from "./engine/pool.ts";
import { EventHub } from "./events/hub.ts";
import { createHttpApp } from "./http/app.ts";
import { ClusterJobService } from "./cluster/service.ts";
import type { JobBackend } from "./jobs/backend.ts";
import { JobService } from "./jobs/service.ts";
import { logJobs, type Logger } from "./log.ts";
import { resolveModel } from "./model/resolve.ts";

export interface RunningServer {
  port: number;
  jobs: JobBackend;
  /** Resolves when the model pool is loaded, or rejects with the reason it could not be. */
  loaded: Promise<void>;
  shutdown(graceMs: number): Promise<void>;
}

/**
 * Listens first, so /healthz answers and /readyz explains itself while the model loads;
 * a missing model or ffmpeg keeps the process up and not ready instead of crash-looping.
 */
export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  const hub = new EventHub();
  const jobs = createBackend(config, hub, log);
  logJobs(hub, jobs, log, config.logTranscripts);
  let pool: ModelPool | null = null;
  let modelName: string | null = null;
  const http = createHttpApp(config, jobs, hub, { model: () => modelName, poolSize: () => pool?.size ?? 0 });
  const listenSocket = await listen(http.app, config.host, config.port);
  const port = uWS.us_socket_local_port(listenSocket);
  log.info({ port, host: config.host }, `listening on http://${config.host === "0.0.0.0" ? "localhost" : config.host}:${port}`);

  const sweeper = setInterval(() => {
    const removed = jobs.sweep();
    if (removed > 0) log.debug({ removed }, "expired jobs removed");
  }, config.sweepIntervalSeconds * 1000);

  const loaded = (async () => {
    const ffmpeg = await findFfmpeg(config.ffmpegPath);
    log.info({ ffmpeg: ffmpeg.path, source: ffmpeg.source }, ffmpeg.version);
    jobs.setNotReady("the speech model is loading");
    const model = await resolveModel(config.model, config.modelDir, (m) => log.info(m));
    const cpus = os.availableParallelism();
    const build = whisperBuildInfo();
    log.info(
      { model: model.name, file: model.file, verified: model.verified, poolSize: config.poolSize, threads: config.threads || "auto", cpus },
      `whisper.cpp build ${build ? `${build.flags}: ${build.features.join(" ") || "no SIMD"}` : "unknown (not built by scripts/build-whisper.mjs)"}`,
    );
    const started = Date.now();
    pool = await ModelPool.load(model.file, config.poolSize, cpus, config.threads);
    modelName = model.name;
    jobs.ready({ config, pool, ffmpegPath: ffmpeg.path, log });
    log.info({ loadMs: Date.now() - started }, "ready");
  })();
  loaded.catch((err: unknown) => {
    const reason = err instanceof Error ? err.message : String(err);
    jobs.setNotReady(reason);
    // Staying up (not exiting) keeps orchestrators from crash-looping; the log says how to fix it.
    const fix = `${err instanceof FfmpegMissingError ? "install ffmpeg or set FFMPEG_PATH" : "fix MODEL / MODEL_DIR (or run `npm run fetch-model`)"} and restart; /readyz answers 503 until then`;
    log.error({ err: reason, fix }, `not ready: ${reason} To fix: ${fix}.`);
  });

  return {
    port,
    jobs,
    loaded,
    shutdown: async (graceMs) => {
      jobs.startDraining();
      await jobs.drain(graceMs);
      clearInterval(sweeper);
      http.closeSockets();
      uWS.us_listen_socket_close(listenSocket);
      // A window still decoding past the settle time keeps its context: the process exits around it.
      if (jobs.runningCount === 0) await pool?.free();
      await jobs.close();
    },
  };
}

/** In memory for one process; in Redis when REDIS_URL is set, for N replicas. */
function createBackend(config: Config, hub: EventHub, log: Logger): JobBackend {
  const { redisUrl } = config;
  if (redisUrl === null) return new JobService(hub, config.maxQueue, config.jobTtlSeconds);
  log.info({ redis: redisUrl.replace(/\/\/[^@/]*@/, "//***@"), replica: config.replicaId, spoolDir: config.spoolDir }, "Redis mode: jobs, events and the queue are shared with the other replicas");
  return new ClusterJobService({ ...config, redisUrl }, hub, log);
}

function listen(app: uWS.TemplatedApp, host: string, port: number): Promise<uWS.us_listen_socket> {
  return new Promise((resolve, reject) => {
    app.listen(host, port, (socket) => (socket ? resolve(socket) : reject(new Error(`Cannot listen on ${host}:${port} (in use?)`))));
  });
}
