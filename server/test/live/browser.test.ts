import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import { ensureClient } from "../../../scripts/ensure-client.ts";
import { recording } from "../support/audio.ts";
import { CHROMIUM, screenshot, watchErrors } from "../support/browser.ts";
import { startTestServer, type TestServer } from "../support/server.ts";
import { wordErrorRate } from "../support/wer.ts";

/**
 * The Live view in headless Debian Chromium with a fake microphone that plays a recording:
 * permission is granted by flag, the AudioWorklet downsamples it, and the page must show
 * provisional text first and then finals matching the recording.
 */

let server: TestServer;
let context: BrowserContext;
const scratch = mkdtempSync(path.join(tmpdir(), "whisperrr-live-browser-"));
const JFK = recording("jfk_inaugural_16k.wav");
/**
 * The fake device loops its file: 1 s of silence, the speech, then 90 s of silence, so the test
 * can wait for the finals (slow on a busy CPU) and stop before the speech comes round again.
 */
const MIC_FILE = path.join(scratch, "mic.wav");
const LOOP_MS = 102_000;

test.before(async () => {
  ensureClient();
  execFileSync("ffmpeg", ["-v", "error", "-y", "-i", JFK.path, "-af", "adelay=1000,apad=pad_dur=90", "-ar", "48000", "-ac", "1", "-c:a", "pcm_s16le", MIC_FILE]);
  server = await startTestServer();
  context = await chromium.launchPersistentContext(path.join(scratch, "profile"), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync",
      "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", `--use-file-for-fake-audio-capture=${MIC_FILE}`,
    ],
  });
});
test.after(async () => {
  await context?.close();
  await server?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** Every distinct (partial, finals) state the page shows, from DOM mutations. */
const TIMELINE = `
  window.__live = [];
  const read = () => ({
    partial: document.querySelector("[data-testid=live-partial]")?.textContent ?? "",
    finals: document.querySelectorAll("[data-testid=live-final]").length,
  });
  document.addEventListener("DOMContentLoaded", () => new MutationObserver(() => {
    const now = read();
    const last = window.__live[window.__live.length - 1];
    if (!last || last.partial !== now.partial || last.finals !== now.finals) window.__live.push(now);
  }).observe(document.body, { subtree: true, childList: true, characterData: true }));
`;

test("Live view: microphone → partials, then finals matching the recording; stop ends the session", async () => {
  const page = await context.newPage();
  const errors = watchErrors(page);
  await page.addInitScript(TIMELINE);
  await page.goto(`${server.base}/`);
  await page.getByRole("link", { name: "Live" }).click();
  await page.waitForURL(/\/live$/);
  await page.getByTestId("live-start").click();
  await page.waitForSelector("[data-testid=live][data-phase=live]", { timeout: 30_000 });
  const started = Date.now();
  await page.waitForFunction(() => Number(document.querySelector("[data-testid=level]")?.getAttribute("aria-valuenow")) > 0, undefined, { timeout: 10_000 });
  await page.waitForSelector("[data-testid=live-partial]", { timeout: LOOP_MS / 2 });
  // Once the speech (1-12 s of the file) has been captured and nothing is pending, every word is final.
  await page.waitForFunction(
    () =>
      Number(document.querySelector("[data-testid=live-clock]")?.getAttribute("data-seconds")) > 14 &&
      document.querySelectorAll("[data-testid=live-final]").length > 0 &&
      !document.querySelector("[data-testid=live-partial]"),
    undefined,
    { timeout: LOOP_MS - (Date.now() - started) - 5000 },
  );
  await page.getByTestId("live-stop").click();
  await page.waitForSelector("[data-testid=live][data-phase=ended]", { timeout: 120_000 });
  await screenshot(page, "live-ended");

  const timeline = (await page.evaluate("window.__live")) as { partial: string; finals: number }[];
  const firstPartial = timeline.findIndex((s) => s.partial !== "");
  const firstFinal = timeline.findIndex((s) => s.finals > 0);
  assert.ok(firstPartial !== -1 && firstPartial < firstFinal, `a partial shows before the first final: ${JSON.stringify(timeline.slice(0, 8))}`);
  const finals = await page.getByTestId("live-final").allTextContents();
  const text = finals.join(" ");
  const score = wordErrorRate(JFK.transcript, text);
  assert.ok(score.wer <= 0.2, `finals match the recording: ${score.errors}/${score.words} errors in "${text}"`);
  assert.is(await page.getByTestId("live-partial").count(), 0, "no provisional text left after ended");
  assert.ok(await page.getByTestId("live-copy").isEnabled());
  const download = page.waitForEvent("download");
  await page.getByTestId("live-download").click();
  assert.match((await download).suggestedFilename(), /^live-.*\.txt$/);
  assert.equal(errors, []);
  await page.close();
});

test.run();
