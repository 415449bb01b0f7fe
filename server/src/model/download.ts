import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Transform } from "node:stream";

/** Reports download progress: in place on a TTY, every 10 % otherwise (CI logs stay short). */
function progressReporter(label: string, total: number | null) {
  const tty = process.stderr.isTTY;
  let received = 0;
  let lastDecile = -1;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      received += chunk.length;
      const mb = (received / 1048576).toFixed(1);
      const pct = total ? Math.floor((received / total) * 100) : null;
      const line = `${label}: ${mb} MB${total ? ` of ${(total / 1048576).toFixed(1)} MB (${pct}%)` : ""}`;
      if (tty) process.stderr.write(`\r${line}   `);
      else if (pct !== null && Math.floor(pct / 10) > lastDecile) {
        lastDecile = Math.floor(pct / 10);
        process.stderr.write(`${line}\n`);
      }
      done(null, chunk);
    },
    flush(done) {
      if (tty) process.stderr.write("\n");
      done();
    },
  });
}

/** Streams `url` to `dest` through a `.part` file so a broken download never looks complete. */
export async function download(url: string, dest: string, label: string): Promise<void> {
  const res = await fetch(url, { redirect: "follow", signal: AbortSignal.timeout(30 * 60_000) });
  if (!res.ok || !res.body) throw new Error(`GET ${url}: HTTP ${res.status}`);
  const total = Number(res.headers.get("content-length")) || null;
  const part = `${dest}.part`;
  try {
    await pipeline(Readable.fromWeb(res.body as import("node:stream/web").ReadableStream), progressReporter(label, total), createWriteStream(part));
    await rename(part, dest);
  } catch (err) {
    await rm(part, { force: true });
    throw err;
  }
}
