import { Redis } from "ioredis";
import type { Logger } from "../log.ts";

export const COMMAND_TIMEOUT_MS = 5000;

/**
 * A connection that reconnects by itself. `blocking` connections (XREAD/XREADGROUP BLOCK) wait
 * as long as it takes; the others fail a command after one retry so a request can answer 503
 * instead of hanging while Redis is down.
 */
export function connectRedis(url: string, name: string, log: Logger, blocking = false): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: blocking ? null : 1,
    // A Redis that hangs (not down, not answering) fails commands instead of stalling requests.
    ...(blocking ? {} : { commandTimeout: COMMAND_TIMEOUT_MS }),
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  let lastError = "";
  redis.on("error", (err: Error) => {
    // One line per distinct failure, not one per reconnect attempt.
    if (err.message === lastError) return;
    lastError = err.message;
    log.warn({ redis: name, err: err.message }, "redis connection error");
  });
  redis.on("ready", () => {
    if (lastError) log.info({ redis: name }, "redis connection restored");
    lastError = "";
  });
  return redis;
}

/** Resolves once the connection is ready, or rejects after `ms`. */
export function whenReady(redis: Redis, ms: number): Promise<void> {
  if (redis.status === "ready") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms / 1000} s`)), ms);
    redis.once("ready", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
