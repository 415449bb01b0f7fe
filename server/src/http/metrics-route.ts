import type { TemplatedApp } from "uWebSockets.js";
import type { MetricsScrape } from "../metrics/scrape.ts";
import { Reply } from "./respond.ts";

/** `GET /metrics`: Prometheus text exposition (behind the API key unless METRICS_PUBLIC, see access.ts). */
export function mountMetrics(app: TemplatedApp, scrape: MetricsScrape): void {
  app.get("/metrics", (res) => {
    const reply = new Reply(res);
    scrape.render().then(
      (text) => reply.send(200, text, { "Content-Type": scrape.contentType, "Cache-Control": "no-store" }),
      (err: unknown) => reply.error("internal_error", `Metrics could not be collected: ${err instanceof Error ? err.message : String(err)}`),
    );
  });
}
