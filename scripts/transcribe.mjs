#!/usr/bin/env node
// Uploads a file and prints its transcript as it streams in over the WebSocket.
// Usage: node scripts/transcribe.mjs <file> [--server http://localhost:8080] [--language auto] [--task transcribe]
import { openAsBlob } from "node:fs";
import { parseArgs } from "node:util";
import WebSocket from "ws";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    server: { type: "string", default: process.env.WHISPERRR_URL ?? "http://localhost:8080" },
    language: { type: "string", default: "auto" },
    task: { type: "string", default: "transcribe" },
  },
});
if (positionals.length !== 1) {
  console.error("usage: node scripts/transcribe.mjs <file> [--server URL] [--language xx] [--task transcribe|translate]");
  process.exit(2);
}
const query = new URLSearchParams({ language: values.language, task: values.task });
const res = await fetch(`${values.server}/api/jobs?${query}`, { method: "POST", body: await openAsBlob(positionals[0]) });
const created = await res.json();
if (res.status !== 202) {
  console.error(`${res.status} ${created.error.code}: ${created.error.message}`);
  process.exit(1);
}
const ws = new WebSocket(`${values.server.replace(/^http/, "ws")}/ws`);
ws.on("open", () => ws.send(JSON.stringify({ type: "subscribe", jobId: created.id })));
ws.on("message", (data) => {
  const event = JSON.parse(data.toString());
  if (event.type === "progress") process.stderr.write(`\r${event.stage} ${event.percent}%   `);
  if (event.type === "segment") console.log(`\r[${event.start.toFixed(2)} → ${event.end.toFixed(2)}] ${event.text}`);
  if (event.type === "failed") console.error(`\nfailed: ${event.code}: ${event.message}`);
  if (["completed", "failed", "cancelled"].includes(event.type)) {
    if (event.type === "completed") console.error(`\ndone: ${event.durationSeconds}s of ${event.language} audio in ${event.processingSeconds}s`);
    ws.close();
    process.exitCode = event.type === "completed" ? 0 : 1;
  }
});
