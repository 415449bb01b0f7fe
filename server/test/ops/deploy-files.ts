import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { ROOT_DIR } from "../../src/config.ts";

export const read = (file: string) => readFileSync(path.join(ROOT_DIR, file), "utf8");

export interface ComposeService {
  image?: string;
  restart?: string;
  build?: { context: string; args?: Record<string, string> };
  profiles?: string[];
  ports?: string[];
  environment?: Record<string, string | number>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[]; interval: string; timeout: string; retries: number; start_period: string };
  stop_signal?: string;
  stop_grace_period?: string;
  deploy?: { resources?: { limits?: { cpus?: string; memory?: string } } };
}

export function compose(): { services: Record<string, ComposeService>; volumes?: Record<string, unknown> } {
  return parse(read("compose.yaml"));
}

/** `10s`, `5m`, `1m30s` → seconds. */
export function durationSeconds(text: string): number {
  const parts = [...text.matchAll(/(\d+)(h|m|s)/g)];
  if (parts.map((p) => p[0]).join("") !== text) throw new Error(`not a compose duration: ${text}`);
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * { h: 3600, m: 60, s: 1 }[unit as "h" | "m" | "s"], 0);
}

export interface DockerInstruction {
  stage: string;
  op: string;
  args: string;
}

/** Dockerfile instructions with continuation lines joined, tagged with their stage name. */
export function dockerfile(): DockerInstruction[] {
  const text = read("Dockerfile").replace(/\\\n/g, " ");
  const out: DockerInstruction[] = [];
  let stage = "";
  for (const line of text.split("\n")) {
    const m = line.trim().match(/^([A-Z]+)\s+(.*)$/);
    if (!m || line.trim().startsWith("#")) continue;
    const [, op, args] = m as unknown as [string, string, string];
    if (op === "FROM") stage = args.match(/\bAS\s+(\S+)/i)?.[1] ?? args;
    out.push({ stage, op, args: args.replace(/\s+/g, " ").trim() });
  }
  return out;
}

/** Commands a shell script runs: its non-comment lines. */
export function scriptLines(file: string): string[] {
  return read(file).split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
}

export const NGINX_TEMPLATES = ["deploy/nginx/templates/default.conf.template", "deploy/nginx/templates/whisperrr-locations.inc.template"];

/** `${NAME}` placeholders the official nginx image fills from the service environment. */
export function templateVariables(): Set<string> {
  return new Set(NGINX_TEMPLATES.flatMap((f) => [...read(f).matchAll(/\$\{([A-Z_][A-Z0-9_]*)\}/g)].map((m) => m[1]!)));
}

/** The `location` lines of the nginx config: modifier (`=`, `~` or none) and path or pattern. */
export function nginxLocations(): { modifier: string; path: string }[] {
  return [...read(NGINX_TEMPLATES[1]!).matchAll(/^location\s+(?:(=|~\*?|\^~)\s+)?(\S+)\s*\{/gm)].map((m) => ({ modifier: m[1] ?? "", path: m[2]! }));
}
