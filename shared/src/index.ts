export * from "./errors.ts";
export * from "./jobs.ts";
export * from "./events.ts";
export * from "./ws.ts";
export * from "./live.ts";
