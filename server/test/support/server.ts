import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { ROOT_DIR } from "../../src/config.ts";

export const KIT_MODELS = path.resolve(ROOT_DIR, "../shared/models");

export interface TestServer {
  port: number;
  base: string;
  child: ChildProcess;
  /** Every log line the server printed (JSON objects). */
  logs: Record<string, unknown>[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Runs the real server (`src/main.ts`) as a child process on a free port, with the real model:
 * MODEL_DIR from the environment, else the team kit's copy.
 */
export async function startTestServer(env: Record<string, string> = {}, waitReady = true): Promise<TestServer> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT_DIR, "server/src/main.ts")], {
    cwd: ROOT_DIR,
    env: { ...process.env, MODEL_DIR: process.env.MODEL_DIR ?? KIT_MODELS, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = "";
  child.stderr!.on("data", (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) {
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (typeof entry.port === "number") resolve(entry.port);
        } catch {
          /* not a log line */
        }
      }
    });
    child.on("exit", (code) => reject(new Error(`server exited (${code}) before listening:\n${stderr}`)));
  });
  const base = `http://127.0.0.1:${port}`;
  if (waitReady) await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, 60_000, "server ready");
  return {
    port,
    base,
    child,
    logs,
    stop: (signal = "SIGTERM") =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once("exit", (code) => resolve(code));
        child.kill(signal);
      }),
  };
}

export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
