#!/usr/bin/env node
// Container health check (Dockerfile HEALTHCHECK, compose.yaml): exits 0 when GET <path> on
// this container's server answers 200, else prints why and exits 1. Reads HOST and PORT as the
// server does. Usage: node scripts/healthcheck.mjs /readyz
const path = process.argv[2] ?? "/readyz";
const listen = process.env.HOST?.trim() ?? "";
const host = ["", "0.0.0.0", "::"].includes(listen) ? "127.0.0.1" : listen.includes(":") ? `[${listen}]` : listen;
const port = process.env.PORT?.trim() || "8080";
try {
  const res = await fetch(`http://${host}:${port}${path}`, { signal: AbortSignal.timeout(4000) });
  const body = (await res.text()).slice(0, 300);
  console.log(`${path}: ${res.status} ${body}`);
  process.exit(res.status === 200 ? 0 : 1);
} catch (err) {
  console.log(`${path}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
