#!/usr/bin/env node
// Uploads a file and prints its transcript as it streams in over the WebSocket.
// Usage: node scripts/transcribe.mjs <file> [--server http://localhost:8080] [--language auto] [--task transcribe] [--api-key KEY]
// WHISPERRR_URL and WHISPERRR_API_KEY set the server and key from the environment.
import { openAsBlob } from "node:fs";
import { parseArgs } from "node:util";
import WebSocket from "ws";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    server: { type: "string", default: process.env.WHISPERRR_URL ?? "http://localhost:8080" },
    language: { type: "string", default: "auto" },
    task: { type: "string", default: "transcribe" },
    "api-key": { type: "string", default: process.env.WHISPERRR_API_KEY ?? "" },
    help: { type: "boolean", default: false },
  },
});
const usage = "usage: node scripts/transcribe.mjs <file> [--server URL] [--language xx] [--task transcribe|translate] [--api-key KEY]";
if (values.help || positionals.length !== 1) {
  console.error(usage);
  process.exit(values.help ? 0 : 2);
}
const key = values["api-key"];
const fail = (message) => {
  console.error(message);
  process.exit(1);
};
const body = await Promise.resolve()
  .then(() => openAsBlob(positionals[0]))
  .catch(() => fail(`cannot read ${positionals[0]}`));
const query = new URLSearchParams({ language: values.language, task: values.task });
const res = await fetch(`${values.server}/api/jobs?${query}`, {
  method: "POST",
  body,
  headers: key ? { Authorization: `Bearer ${key}` } : {},
}).catch((err) => fail(`cannot reach ${values.server}: ${err.cause?.code ?? err.cause?.errors?.[0]?.code ?? err.message}`));
const created = await res.json();
if (res.status !== 202) {
  console.error(`${res.status} ${created.error.code}: ${created.error.message}`);
  process.exit(1);
}
const token = key ? `?access_token=${encodeURIComponent(key)}` : "";
const ws = new WebSocket(`${values.server.replace(/^http/, "ws")}/ws${token}`);
ws.on("error", (err) => fail(`WebSocket: ${err.message}`));
ws.on("open", () => ws.send(JSON.stringify({ type: "subscribe", jobId: created.id })));
ws.on("message", (data) => {
  const event = JSON.parse(data.toString());
  if (event.type === "error") fail(`\n${event.code}: ${event.message}`);
  if (event.type === "progress") process.stderr.write(`\r${event.stage} ${event.percent}%   `);
  if (event.type === "segment") console.log(`\r[${event.start.toFixed(2)} → ${event.end.toFixed(2)}] ${event.text}`);
  if (event.type === "failed") console.error(`\nfailed: ${event.code}: ${event.message}`);
  if (["completed", "failed", "cancelled"].includes(event.type)) {
    if (event.type === "completed") console.error(`\ndone: ${event.durationSeconds}s of ${event.language} audio in ${event.processingSeconds}s`);
    ws.close();
    process.exitCode = event.type === "completed" ? 0 : 1;
  }
});
