import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Page } from "playwright-core";
import type { JobCreated, JobSnapshot } from "@whisperrr/shared";
import { ensureClient } from "../../../scripts/ensure-client.ts";
import { recording } from "../support/audio.ts";
import { cuttableProxy, launchBrowser, screenshot, watchErrors, type Browser } from "../support/browser.ts";
import { startTestServer, type TestServer } from "../support/server.ts";
import { wordErrorRate } from "../support/wer.ts";

/**
 * The browser client end to end: headless Debian Chromium, the real server and model, real
 * recordings. MAX_UPLOAD_MB=1 lets one recording (the 1.1 MB FLAC) show the 413 path.
 */

let server: TestServer;
let browser: Browser;
const scratch = mkdtempSync(path.join(tmpdir(), "whisperrr-browser-"));

test.before(async () => {
  ensureClient();
  server = await startTestServer({ MAX_UPLOAD_MB: "1" });
  browser = await launchBrowser();
});
test.after(async () => {
  await browser?.close();
  await server?.stop();
});

interface Moment {
  phase: string | null;
  segments: number;
  state: string | null;
  percent: number | null;
}

/** Records every distinct state the page shows, from DOM mutations, so nothing is missed between polls. */
const TIMELINE = `
  window.__timeline = [];
  const read = () => {
    const article = document.querySelector("article[data-phase]");
    const conn = document.querySelector("[data-testid=connection]");
    const pct = document.querySelector("[data-testid=percent]");
    return {
      phase: article ? article.getAttribute("data-phase") : null,
      segments: document.querySelectorAll("[data-testid=segment]").length,
      state: conn ? conn.getAttribute("data-state") : null,
      percent: pct ? Number(pct.textContent) : null,
    };
  };
  const record = () => {
    const now = read();
    const last = window.__timeline[window.__timeline.length - 1];
    if (!last || JSON.stringify(last) !== JSON.stringify(now)) window.__timeline.push(now);
  };
  document.addEventListener("DOMContentLoaded", () =>
    new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true }));
`;

async function openPage(base: string, initScripts: string[] = []): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.context.newPage();
  page.setDefaultTimeout(600_000);
  const errors = watchErrors(page);
  for (const content of [TIMELINE, ...initScripts]) await page.addInitScript({ content });
  await page.goto(base);
  await page.waitForSelector("[data-testid=empty-state]");
  return { page, errors };
}

/** Picks language and file in the page; returns the upload's HTTP answer. */
async function startJob(page: Page, file: string, language: string): Promise<{ status: number; body: JobCreated }> {
  const answer = page.waitForResponse((r) => r.url().endsWith("/api/jobs") && r.request().method() === "POST");
  await page.selectOption("select[name=language]", language);
  await page.setInputFiles("[data-testid=file-input]", file);
  const res = await answer;
  return { status: res.status(), body: (await res.json()) as JobCreated };
}

const timeline = (page: Page) => page.evaluate("window.__timeline") as Promise<Moment[]>;

async function shownSegments(page: Page): Promise<{ index: number; start: number; text: string }[]> {
  const buttons = page.locator("[data-testid=segment]");
  const count = await buttons.count();
  const out = [];
  for (let i = 0; i < count; i++) {
    const b = buttons.nth(i);
    out.push({
      index: Number(await b.getAttribute("data-index")),
      start: Number(await b.getAttribute("data-start")),
      text: (await b.locator("span").textContent()) ?? "",
    });
  }
  return out;
}

async function snapshot(id: string): Promise<JobSnapshot> {
  return (await (await fetch(`${server.base}/api/jobs/${id}`)).json()) as JobSnapshot;
}

/** The page shows exactly the server's segments: each once, in order. */
async function assertSameSegments(page: Page, snap: JobSnapshot) {
  const shown = await shownSegments(page);
  assert.equal(shown.map((s) => s.index), snap.segments.map((_, i) => i), "every segment index exactly once, in order");
  assert.equal(shown.map((s) => s.text), snap.segments.map((s) => s.text.trim()));
  return shown;
}

test("upload → live progress and segments → 100 %, WER, downloads, click-to-seek", async () => {
  const { page, errors } = await openPage(server.base);
  await screenshot(page, "empty");
  const file = recording("librivox_sonnet001_en.mp3");
  const { status, body } = await startJob(page, file.path, "en");
  assert.is(status, 202);

  await page.waitForSelector("[data-testid=segment]");
  await screenshot(page, "in-progress");
  await page.waitForSelector("article[data-phase=completed]");
  const moments = await timeline(page);
  assert.ok(moments.some((m) => m.segments > 0 && m.phase === "running"), "segments appeared before the job completed");
  assert.ok(moments.some((m) => m.state === "websocket"), "followed over the WebSocket");
  const percents = moments.map((m) => m.percent).filter((p): p is number => p !== null);
  assert.ok(percents.every((p, i) => i === 0 || p >= percents[i - 1]!), `progress never goes back: ${percents.join(",")}`);
  assert.is(percents.at(-1), 100);
  assert.is(await page.locator("[data-testid=progress]").getAttribute("value"), "100");

  const snap = await snapshot(body.id);
  assert.is(snap.status, "completed");
  assert.ok(snap.segments.length >= 3, `a long recording gives several segments (${snap.segments.length})`);
  const shown = await assertSameSegments(page, snap);
  const pageWer = wordErrorRate(file.transcript, shown.map((s) => s.text).join(" ")).wer;
  const serverWer = wordErrorRate(file.transcript, snap.result!.text).wer;
  assert.ok(Math.abs(pageWer - serverWer) <= 0.03, `page WER ${pageWer.toFixed(3)} vs server ${serverWer.toFixed(3)}`);

  const expected = { txt: /^text\/plain/, srt: /^application\/x-subrip/, vtt: /^text\/vtt/, json: /^application\/json/ };
  for (const [format, type] of Object.entries(expected)) {
    const [response, download] = await Promise.all([
      page.waitForResponse((r) => r.url().includes(`/transcript?format=${format}`)),
      page.waitForEvent("download"),
      page.click(`[data-testid=download-${format}]`),
    ]);
    assert.is(response.status(), 200, format);
    assert.match(response.headers()["content-type"] ?? "", type, format);
    assert.is(download.suggestedFilename(), `librivox_sonnet001_en.${format}`);
    const content = readFileSync((await download.path())!, "utf8");
    if (format === "txt") assert.is(content.trim().split("\n").length, snap.segments.length);
    if (format === "srt") assert.match(content, /^1\n00:00:\d\d,\d{3} --> /);
    if (format === "vtt") assert.match(content, /^WEBVTT\n/);
    if (format === "json") assert.is((JSON.parse(content) as JobSnapshot).segments.length, snap.segments.length);
  }

  await page.waitForFunction("document.querySelector('audio').readyState >= 1");
  const target = shown.findIndex((s) => s.start >= 5);
  assert.ok(target > 0, "a segment well into the recording");
  await page.locator("[data-testid=segment]").nth(target).click();
  const time = (await page.evaluate("document.querySelector('audio').currentTime")) as number;
  assert.ok(Math.abs(time - shown[target]!.start) < 0.5, `player at ${time}, segment starts at ${shown[target]!.start}`);
  assert.is(await page.locator("[data-testid=segment]").nth(target).getAttribute("aria-current"), "true", "the segment playing is highlighted");
  await screenshot(page, "done");

  await page.setViewportSize({ width: 390, height: 844 });
  await page.emulateMedia({ colorScheme: "dark" });
  await screenshot(page, "done-phone-dark");
  assert.equal(errors, []);
  await page.close();
});

test("errors show their code and message: 413 upload and a file that is not audio", async () => {
  const { page, errors } = await openPage(server.base);
  const tooBig = await startJob(page, recording("jfk_inaugural_44k_stereo.flac").path, "auto");
  assert.is(tooBig.status, 413);
  await page.waitForSelector("[data-testid=error][data-code=upload_too_large]");
  assert.match((await page.locator("[data-testid=error]").textContent()) ?? "", /1 MB limit/);

  const notAudio = path.join(scratch, "notes.txt");
  writeFileSync(notAudio, "This is a text file, not a recording.\n".repeat(200));
  await startJob(page, notAudio, "auto");
  const failure = page.locator("article[data-phase=failed] [data-testid=error]");
  await failure.waitFor();
  assert.match((await failure.getAttribute("data-code")) ?? "", /^(decode_failed|no_audio_stream)$/);
  await screenshot(page, "error");
  assert.is(await page.locator("[data-testid=job-item]").count(), 2, "both jobs stay in the session list");
  await page.locator("[data-testid=job-item]").nth(1).click();
  await page.waitForSelector("[data-testid=error][data-code=upload_too_large]");
  assert.equal(errors.filter((e) => !/413/.test(e)), []);
  await page.close();
});

test("Cancel stops a running job", async () => {
  const { page } = await openPage(server.base);
  const { body } = await startJob(page, recording("librivox_sonnet001_en.mp3").path, "en");
  await page.waitForSelector("article[data-phase=running]");
  await page.click("[data-testid=cancel]");
  await page.waitForSelector("article[data-phase=cancelled] [data-testid=cancelled]");
  assert.is((await snapshot(body.id)).status, "cancelled");
  await page.close();
});

/** Every WebSocket the page opens goes to a closed port, as behind a proxy that refuses upgrades. */
const BLOCK_WEBSOCKET = `
  const Real = window.WebSocket;
  window.WebSocket = class extends Real {
    constructor(url, protocols) { super("ws://127.0.0.1:9/blocked", protocols); }
  };
`;

test("WebSocket unavailable: completes over SSE and says so", async () => {
  const { page } = await openPage(server.base, [BLOCK_WEBSOCKET]);
  const file = recording("jfk_inaugural_16k.wav");
  const { status, body } = await startJob(page, file.path, "en");
  assert.is(status, 202);
  await page.waitForSelector("article[data-phase=completed]");
  const moments = await timeline(page);
  assert.ok(moments.some((m) => m.state === "sse"), "the SSE fallback state was shown");
  assert.not.ok(moments.some((m) => m.state === "websocket"));
  assert.is(await page.locator("[data-testid=via]").getAttribute("data-via"), "sse");
  const snap = await snapshot(body.id);
  const shown = await assertSameSegments(page, snap);
  assert.is(wordErrorRate(file.transcript, shown.map((s) => s.text).join(" ")).errors, 0);
  await page.close();
});

test("connection cut mid-job: reconnects, resumes, every segment exactly once", async () => {
  const proxy = await cuttableProxy(server.port);
  try {
    const { page } = await openPage(proxy.base);
    const { status, body } = await startJob(page, recording("librivox_simplicissimus_de.mp3").path, "de");
    assert.is(status, 202);
    await page.waitForSelector("article[data-phase=running] [data-testid=segment]");
    const before = (await shownSegments(page)).length;
    assert.ok(proxy.cut() > 0, "there were connections to cut");
    await page.waitForSelector("article[data-phase=completed]");
    const moments = await timeline(page);
    assert.ok(moments.some((m) => m.state === "reconnecting"), "the page showed it was reconnecting");
    const snap = await snapshot(body.id);
    assert.ok(snap.segments.length > before, `segments arrived after the cut (${before} before, ${snap.segments.length} in all)`);
    await assertSameSegments(page, snap);
    await page.close();
  } finally {
    await proxy.close();
  }
});

test("API key: refused without it, then sent as Bearer header and access_token once entered", async () => {
  const locked = await startTestServer({ API_KEY: "browser-test-key" });
  try {
    const { page } = await openPage(locked.base);
    const refused = await startJob(page, recording("jfk_inaugural_16k.wav").path, "en");
    assert.is(refused.status, 401);
    await page.waitForSelector("[data-testid=error][data-code=unauthorized]");

    await page.click("summary:has-text('API key')");
    await page.fill("#api-key", "browser-test-key");
    await page.click("button:has-text('Save')");
    const accepted = await startJob(page, recording("jfk_inaugural_16k.wav").path, "en");
    assert.is(accepted.status, 202);
    await page.waitForSelector("article[data-phase=completed]");
    assert.is(await page.locator("[data-testid=via]").getAttribute("data-via"), "websocket", "the socket authenticated with access_token");
    const [response] = await Promise.all([page.waitForResponse((r) => r.url().includes("format=txt")), page.click("[data-testid=download-txt]")]);
    assert.is(response.status(), 200);
    assert.is(await page.evaluate("localStorage.getItem('whisperrr.apiKey')"), "browser-test-key");
    await page.evaluate("localStorage.clear()");
    await page.close();
  } finally {
    await locked.stop();
  }
});

test.run();
