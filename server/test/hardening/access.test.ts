import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash, randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, openAsBlob, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { recording } from "../support/audio.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

/** API key on every route type, health left open, CORS allowlist with preflight, rate limit, page headers. */

const KEY = "test-key-0123456789";
const ALLOWED = "https://app.example.com";
const jfk = recording("jfk_inaugural_16k.wav");

/** A client build with an inline bootstrap script, as SvelteKit emits. */
const clientDir = mkdtempSync(path.join(tmpdir(), "whisperrr-access-client-"));
const INLINE = "window.__boot = 1;";
writeFileSync(path.join(clientDir, "index.html"), `<!doctype html><html><head><script>${INLINE}</script></head><body></body></html>`);
mkdirSync(path.join(clientDir, "_app"));
writeFileSync(path.join(clientDir, "_app", "app.js"), "console.log(1);");

let server: TestServer;
test.before(async () => {
  server = await startTestServer({ API_KEY: KEY, CORS_ORIGINS: `${ALLOWED},http://localhost:5173`, RATE_LIMIT_PER_MINUTE: "0", CLIENT_DIR: clientDir });
});
test.after(async () => {
  await server.stop();
});

const bearer = { Authorization: `Bearer ${KEY}` };
const get = (p: string, headers: Record<string, string> = {}) => fetch(`${server.base}${p}`, { headers });
const upload = async (headers: Record<string, string>, query = "") =>
  fetch(`${server.base}/api/jobs${query}`, { method: "POST", body: await openAsBlob(jfk.path), headers: { "Content-Type": "audio/wav", ...headers } });

/** Status of a WebSocket upgrade: 101 when it opened, else the HTTP status of the refusal. */
function upgradeStatus(p: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${server.base.replace("http", "ws")}${p}`, { headers });
    ws.on("open", () => {
      ws.close();
      resolve(101);
    });
    ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
    ws.on("error", () => resolve(0));
  });
}

test("health endpoints stay open; the client's pages too", async () => {
  assert.is((await get("/healthz")).status, 200);
  assert.is((await get("/readyz")).status, 200);
  assert.is((await get("/")).status, 200);
  assert.is((await get("/_app/app.js")).status, 200);
});

test("every API route type needs the key: 401 without, wrong key 401, header or query token passes", async () => {
  const id = randomUUID();
  for (const p of [`/api/jobs/${id}`, `/api/jobs/${id}/events`, `/api/jobs/${id}/transcript`, "/v1/models", "/metrics"]) {
    const open = await get(p);
    assert.is(open.status, 401, p);
    assert.is(((await open.json()) as { error: { code: string } }).error.code, "unauthorized");
    assert.match(open.headers.get("www-authenticate") ?? "", /^Bearer/);
    assert.is((await get(p, { Authorization: "Bearer wrong-key" })).status, 401, `${p} wrong key`);
    assert.is.not((await get(p, bearer)).status, 401, `${p} with the header`);
    assert.is.not((await get(`${p}${p.includes("?") ? "&" : "?"}access_token=${KEY}`)).status, 401, `${p} with the query token`);
  }
  assert.is((await fetch(`${server.base}/api/jobs/${id}`, { method: "DELETE" })).status, 401);
  assert.is((await fetch(`${server.base}/api/jobs/${id}`, { method: "DELETE", headers: bearer })).status, 404);
  assert.is((await upload({})).status, 401, "upload without key");
  assert.is((await upload({}, `?access_token=nope`)).status, 401, "upload with a wrong query token");
});

test("with the key: upload, SSE and WebSocket by query token (as EventSource/WebSocket must)", async () => {
  const up = await upload(bearer);
  assert.is(up.status, 202);
  const { id } = (await up.json()) as { id: string };
  assert.is(await upgradeStatus("/ws"), 401, "/ws without key");
  assert.is(await upgradeStatus("/ws/live"), 401, "/ws/live without key");
  assert.is(await upgradeStatus(`/ws?access_token=${KEY}`), 101);
  assert.is(await upgradeStatus("/ws", bearer), 101);
  const sse = await get(`/api/jobs/${id}/events?access_token=${KEY}`);
  assert.is(sse.status, 200);
  assert.match(sse.headers.get("content-type")!, /text\/event-stream/);
  await sse.body?.cancel();
  const end = await terminalEventWithKey(id);
  assert.is(end, "completed");
});

async function terminalEventWithKey(id: string): Promise<string> {
  const res = await get(`/api/jobs/${id}/events?access_token=${KEY}`);
  const text = await res.text();
  return text.match(/event: (completed|failed|cancelled)/)?.[1] ?? "none";
}

test("CORS: allowed origins get their headers and a preflight; others do not and cannot post", async () => {
  const ok = await get(`/api/jobs/${randomUUID()}`, { ...bearer, Origin: ALLOWED });
  assert.is(ok.headers.get("access-control-allow-origin"), ALLOWED);
  assert.match(ok.headers.get("vary") ?? "", /Origin/);
  const other = await get(`/api/jobs/${randomUUID()}`, { ...bearer, Origin: "https://evil.example" });
  assert.is(other.headers.get("access-control-allow-origin"), null);
  const almost = await get(`/api/jobs/${randomUUID()}`, { ...bearer, Origin: `${ALLOWED}.evil.example` });
  assert.is(almost.headers.get("access-control-allow-origin"), null, "exact match only");

  const preflight = await fetch(`${server.base}/api/jobs`, { method: "OPTIONS", headers: { Origin: ALLOWED, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization" } });
  assert.is(preflight.status, 204);
  assert.is(preflight.headers.get("access-control-allow-origin"), ALLOWED);
  assert.match(preflight.headers.get("access-control-allow-headers")!, /Authorization/);
  assert.match(preflight.headers.get("access-control-allow-methods")!, /POST/);
  const denied = await fetch(`${server.base}/api/jobs`, { method: "OPTIONS", headers: { Origin: "https://evil.example", "Access-Control-Request-Method": "POST" } });
  assert.is(denied.status, 403);
  assert.is(denied.headers.get("access-control-allow-origin"), null);

  const post = await upload({ ...bearer, Origin: "https://evil.example" });
  assert.is(post.status, 403, "a form post from another site cannot create jobs");
  assert.is(((await post.json()) as { error: { code: string } }).error.code, "origin_not_allowed");
  assert.is(await upgradeStatus(`/ws?access_token=${KEY}`, { Origin: "https://evil.example" }), 403, "cross-site WebSocket");
  assert.is(await upgradeStatus(`/ws?access_token=${KEY}`, { Origin: ALLOWED }), 101);
  const same = await upload({ ...bearer, Origin: server.base });
  assert.is(same.status, 202, "the server's own pages may post");
  await terminalEventWithKey(((await same.json()) as { id: string }).id);
});

test("security headers: the page CSP allows its own inline bootstrap by hash, blob: media, ws: to itself, no framing", async () => {
  const page = await get("/");
  const csp = page.headers.get("content-security-policy")!;
  const hash = createHash("sha256").update(INLINE).digest("base64");
  assert.ok(csp.includes(`script-src 'self' 'sha256-${hash}'`), csp);
  assert.not.ok(/script-src[^;]*unsafe-inline/.test(csp), "no inline scripts beyond the hashed one");
  assert.match(csp, /media-src 'self' blob:/);
  assert.match(csp, new RegExp(`connect-src 'self' ws://127\\.0\\.0\\.1:${server.port} wss://127\\.0\\.0\\.1:${server.port}`));
  assert.match(csp, /frame-ancestors 'none'/);
  assert.match(csp, /object-src 'none'/);
  assert.is(page.headers.get("x-content-type-options"), "nosniff");
  assert.is(page.headers.get("x-frame-options"), "DENY");
  const api = await get("/healthz");
  assert.is(api.headers.get("content-security-policy"), "default-src 'none'; frame-ancestors 'none'");
  assert.is(api.headers.get("x-content-type-options"), "nosniff");
});

test("rate limit on job creation: 429 + Retry-After past RATE_LIMIT_PER_MINUTE; no key needed when API_KEY is unset", async () => {
  const limited = await startTestServer({ RATE_LIMIT_PER_MINUTE: "2" });
  try {
    const post = () => fetch(`${limited.base}/api/jobs`, { method: "POST", body: Buffer.from("not audio"), headers: { "Content-Type": "audio/wav" } });
    const statuses = [(await post()).status, (await post()).status];
    assert.ok(statuses.every((s) => s !== 429 && s !== 401), String(statuses));
    const third = await post();
    assert.is(third.status, 429);
    assert.is(((await third.json()) as { error: { code: string } }).error.code, "rate_limited");
    assert.ok(Number(third.headers.get("retry-after")) >= 1);
    assert.is((await fetch(`${limited.base}/api/jobs/${randomUUID()}`)).status, 404, "reads are not limited and need no key");
    const up = await fetch(`${limited.base}/healthz`);
    assert.is(up.status, 200);
  } finally {
    await limited.stop();
  }
});

test.run();
