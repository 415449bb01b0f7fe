import type { TemplatedApp } from "uWebSockets.js";
import type { JobBackend } from "../jobs/backend.ts";
import { Reply } from "./respond.ts";

export interface HealthInfo {
  model: () => string | null;
  poolSize: () => number;
}

/** `/healthz`: the process answers. `/readyz`: the model pool is loaded and jobs are accepted. */
export function mountHealth(app: TemplatedApp, jobs: JobBackend, info: HealthInfo): void {
  app.get("/healthz", (res) => new Reply(res).json(200, { status: "ok" }));
  app.get("/readyz", (res) => {
    const { ready, reason } = jobs.readiness;
    const body = { ready, reason, model: info.model(), pool: info.poolSize(), queued: jobs.queueDepth, running: jobs.runningCount };
    new Reply(res).json(ready ? 200 : 503, body);
  });
}
