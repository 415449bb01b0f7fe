import { ConfigError, loadConfig } from "./config.ts";
import { createLogger } from "./log.ts";
import { startServer } from "./server.ts";

let config;
try {
  config = loadConfig();
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(2);
}
const log = createLogger(config.logLevel, config.logTranscripts);
process.on("uncaughtException", (err) => log.error({ err }, "uncaught exception"));
process.on("unhandledRejection", (err) => log.error({ err }, "unhandled rejection"));

const server = await startServer(config, log);
let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info({ signal, graceSeconds: config.shutdownGraceSeconds }, "shutting down: no new jobs, finishing running ones");
  await server.shutdown(config.shutdownGraceSeconds * 1000);
  log.info("bye");
  process.exit(0);
};
process.on("SIGTERM", () => void stop("SIGTERM"));
process.on("SIGINT", () => void stop("SIGINT"));
