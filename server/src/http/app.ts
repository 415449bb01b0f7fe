import uWS from "uWebSockets.js";
import type { Config } from "../config.ts";
import type { EventHub } from "../events/hub.ts";
import type { JobBackend } from "../jobs/backend.ts";
import { observeServer } from "../metrics/scrape.ts";
import { mountOpenAI } from "../openai/routes.ts";
import { AccessPolicy, guardApp } from "./access.ts";
import { mountHealth, type HealthInfo } from "./health.ts";
import { mountJobRoutes } from "./jobs-routes.ts";
import { mountLiveSocket } from "./live-ws.ts";
import { mountMetrics } from "./metrics-route.ts";
import { Reply } from "./respond.ts";
import { mountStatic } from "./static.ts";
import { mountWebSocket } from "./ws.ts";

export interface HttpServer {
  app: uWS.TemplatedApp;
  closeSockets(): void;
}

/** Every route of the server, in one place; each one registered on `app` passes the access checks (http/access.ts). */
export function createHttpApp(config: Config, jobs: JobBackend, hub: EventHub, health: HealthInfo): HttpServer {
  const app = guardApp(uWS.App(), new AccessPolicy(config));
  mountHealth(app, jobs, health);
  mountJobRoutes(app, jobs, hub, { jobs, maxUploadBytes: config.maxUploadBytes }, { heartbeatMs: 15_000, maxBufferedBytes: 4 << 20 });
  const ws = mountWebSocket(app, jobs, hub, { maxSubscriptions: 256, maxBackpressure: 4 << 20 });
  const live = mountLiveSocket(app, jobs, config);
  mountMetrics(app, observeServer(jobs));
  mountOpenAI(app, { jobs, hub, upload: { jobs, maxUploadBytes: config.maxUploadBytes }, model: health.model });
  mountStatic(app, config.clientDir);
  app.any("/*", (res, req) => {
    new Reply(res).error("not_found", `No route for ${req.getMethod().toUpperCase()} ${req.getUrl().slice(0, 200)}.`);
  });
  return {
    app,
    closeSockets: () => {
      ws.closeAll();
      live.closeAll();
    },
  };
}
