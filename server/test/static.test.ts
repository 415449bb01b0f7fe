import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileFor, isApiPath } from "../src/http/static.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

// A stand-in client build, so these checks do not depend on (or wait for) the real one.
const dir = mkdtempSync(path.join(tmpdir(), "whisperrr-client-"));
mkdirSync(path.join(dir, "_app/immutable/entry"), { recursive: true });
writeFileSync(path.join(dir, "index.html"), "<!doctype html><title>shell</title>");
writeFileSync(path.join(dir, "_app/immutable/entry/app.abc123.js"), "export {};");
writeFileSync(path.join(dir, "_app/version.json"), '{"version":"1"}');
writeFileSync(path.join(dir, "favicon.svg"), "<svg/>");

let server: TestServer;
test.before(async () => {
  server = await startTestServer({ CLIENT_DIR: dir }, false);
});
test.after(async () => {
  await server.stop();
});

const get = (p: string) => fetch(`${server.base}${p}`);

test("app shell at / and for client routes, not cached", async () => {
  for (const p of ["/", "/live", "/jobs/some/deep/route"]) {
    const res = await get(p);
    assert.is(res.status, 200, p);
    assert.is(res.headers.get("content-type"), "text/html; charset=utf-8");
    assert.is(res.headers.get("cache-control"), "no-cache");
    assert.match(await res.text(), /<title>shell<\/title>/);
  }
});

test("hashed assets are immutable, others revalidated, types by extension", async () => {
  const js = await get("/_app/immutable/entry/app.abc123.js");
  assert.is(js.status, 200);
  assert.is(js.headers.get("content-type"), "text/javascript; charset=utf-8");
  assert.is(js.headers.get("cache-control"), "public, max-age=31536000, immutable");
  const json = await get("/_app/version.json");
  assert.is(json.headers.get("content-type"), "application/json; charset=utf-8");
  assert.is(json.headers.get("cache-control"), "no-cache");
  assert.is((await get("/favicon.svg")).headers.get("content-type"), "image/svg+xml");
});

test("missing assets are 404, not the shell; API paths are never shadowed", async () => {
  assert.is((await get("/_app/immutable/entry/gone.js")).status, 404);
  for (const p of ["/api/nope", "/api", "/ws/nope", "/v1/nope", "/metrics/nope"]) {
    const res = await get(p);
    assert.is(res.status, 404, p);
    assert.match(res.headers.get("content-type") ?? "", /application\/json/, p);
  }
  assert.is((await get("/healthz")).status, 200);
});

test("paths cannot leave the build folder", () => {
  assert.is(fileFor("/srv/app", "/../etc/passwd"), "/srv/app/etc/passwd");
  assert.is(fileFor("/srv/app", "/%2e%2e/%2e%2e/etc/passwd"), "/srv/app/etc/passwd");
  assert.is(fileFor("/srv/app", "/a%00b"), null);
  assert.is(fileFor("/srv/app", "/%E0%A4%A"), null);
  assert.ok(isApiPath("/api/jobs") && isApiPath("/ws") && !isApiPath("/apis") && !isApiPath("/live"));
});

test.run();
