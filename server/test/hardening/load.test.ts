import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { request, type ClientRequest, type IncomingMessage } from "node:http";
import { recording } from "../support/audio.ts";
import { startTestServer, type TestServer } from "../support/server.ts";
import { wordErrorRate } from "../support/wer.ts";
import { peakRssMb, terminalEvent } from "./raw.ts";

/**
 * 50 uploads at once against one model context and a queue of 20: the excess is refused with
 * 503 + Retry-After from its headers alone (no body was sent) and its connection closed; every
 * accepted job completes with the right text. Prints the server's peak RSS.
 */

const UPLOADS = 50;
const MAX_QUEUE = 20;
const file = recording("librispeech_1221-135766-0002.wav");
const body = readFileSync(file.path);

interface Pending {
  req: ClientRequest;
  response: Promise<{ res: IncomingMessage; text: string; closed: Promise<void> }>;
  answered: boolean;
}

function startUpload(port: number): Pending {
  const req = request({ host: "127.0.0.1", port, method: "POST", path: "/api/jobs", agent: false, headers: { "Content-Type": "audio/wav", "Content-Length": body.length } });
  const pending: Pending = { req, answered: false, response: Promise.resolve() as never };
  pending.response = new Promise((resolve, reject) => {
    req.on("response", (res) => {
      pending.answered = true;
      const closed = new Promise<void>((r) => req.socket?.once("close", () => r()) ?? r());
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ res, text, closed }));
    });
    req.on("error", reject);
  });
  req.flushHeaders(); // headers only: the body is sent later, and only if no answer came first
  return pending;
}

let server: TestServer;
test.before(async () => {
  // Greedy decoding: the point is admission and completion under load, not accuracy per second.
  server = await startTestServer({ POOL_SIZE: "1", MAX_QUEUE: String(MAX_QUEUE), RATE_LIMIT_PER_MINUTE: "0", BEAM_SIZE: "1" });
});
test.after(async () => {
  await server.stop();
});

test(`${UPLOADS} concurrent uploads, pool of 1, queue of ${MAX_QUEUE}`, async () => {
  const uploads = Array.from({ length: UPLOADS }, () => startUpload(server.port));
  // Admission is decided on the headers; wait until the answers stop coming.
  let answered = -1;
  while (answered !== uploads.filter((u) => u.answered).length) {
    answered = uploads.filter((u) => u.answered).length;
    await new Promise((r) => setTimeout(r, 1500));
  }
  const refused = uploads.filter((u) => u.answered);
  const accepted = uploads.filter((u) => !u.answered);
  for (const u of refused) {
    const { res, text, closed } = await u.response;
    assert.is(res.statusCode, 503, text);
    assert.is((JSON.parse(text) as { error: { code: string } }).error.code, "queue_full");
    assert.ok(Number(res.headers["retry-after"]) > 0, "Retry-After");
    await closed; // the server closed the connection instead of reading the unsent body
    u.req.destroy();
  }
  // One job may leave the queue for the context while the burst arrives, freeing one place.
  assert.ok(accepted.length >= MAX_QUEUE && accepted.length <= MAX_QUEUE + 1, `${accepted.length} accepted`);

  for (const u of accepted) u.req.end(body);
  const ids = await Promise.all(
    accepted.map(async (u) => {
      const { res, text } = await u.response;
      assert.is(res.statusCode, 202, text);
      return (JSON.parse(text) as { id: string }).id;
    }),
  );
  const ends = await Promise.all(ids.map((id) => terminalEvent(server.base, id)));
  for (const end of ends) {
    assert.is(end.type, "completed", JSON.stringify(end));
    const score = wordErrorRate(file.transcript, end.type === "completed" ? end.text : "");
    assert.ok(score.errors <= 3, `${score.errors} word errors`);
  }
  const peak = peakRssMb(server.child.pid!);
  console.log(`  load: ${UPLOADS} uploads, ${accepted.length} accepted and completed, ${refused.length} refused with 503; server peak RSS (VmHWM) ${peak} MB`);
  assert.ok(peak < 2048, `peak RSS ${peak} MB`);
});

test.run();
