import { readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import * as assert from "uvu/assert";
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
  healthcheck?: { test: string[]; interval: string; timeout: string; retries: number; start_period?: string };
  stop_signal?: string;
  stop_grace_period?: string;
  user?: string;
  command?: string[];
  deploy?: { replicas?: number; resources?: { limits?: { cpus?: string; memory?: string } } };
}

/** compose.yaml as Docker Compose reads it: `<<: *anchor` merge keys applied. */
export function compose(): { services: Record<string, ComposeService>; volumes?: Record<string, unknown> } {
  return parse(read("compose.yaml"), { merge: true });
}

/** `${NAME:-default}` → default; a literal → itself. Fails on a reference to another variable. */
export function composeDefault(name: string, value: string | number): string {
  const text = String(value);
  const ref = text.match(/^\$\{([A-Z_][A-Z0-9_]*):-(.*)\}$/);
  if (!ref) {
    assert.not.match(text, /\$/, `${name}: only the \${${name}:-default} form may interpolate`);
    return text;
  }
  assert.is(ref[1], name, `${name} is overridden by the variable of the same name`);
  return ref[2]!;
}

/** Every setting as a service's environment gives it with no variable set in the shell or .env. */
export function composeDefaults(service: ComposeService): Record<string, string> {
  return Object.fromEntries(Object.entries(service.environment ?? {}).map(([name, value]) => [name, composeDefault(name, value)]));
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

export const NGINX_LOCATIONS_TEMPLATE = "deploy/nginx/templates/whisperrr-locations.inc.template";
const NGINX_TEMPLATE_DIR = "/etc/nginx/templates";

/**
 * The templates an nginx service's container sees in /etc/nginx/templates, from its bind mounts
 * (a whole directory or single files): rendered file name (`.template` dropped) → repo path.
 */
export function mountedTemplates(service: ComposeService): Map<string, string> {
  const templates = new Map<string, string>();
  for (const mount of service.volumes ?? []) {
    const [source, target] = mount.split(":") as [string, string];
    const file = path.normalize(source);
    if (target === NGINX_TEMPLATE_DIR && statSync(path.join(ROOT_DIR, file)).isDirectory()) {
      for (const name of readdirSync(path.join(ROOT_DIR, file))) {
        if (name.endsWith(".template")) templates.set(name.replace(/\.template$/, ""), path.join(file, name));
      }
    } else if (path.dirname(target) === NGINX_TEMPLATE_DIR && target.endsWith(".template")) {
      templates.set(path.basename(target, ".template"), file);
    }
  }
  return templates;
}

/** `${NAME}` placeholders the official nginx image fills from the service environment. */
export function templateVariables(service: ComposeService): Set<string> {
  return new Set([...mountedTemplates(service).values()].flatMap((f) => [...read(f).matchAll(/\$\{([A-Z_][A-Z0-9_]*)\}/g)].map((m) => m[1]!)));
}

/** Files of /etc/nginx/conf.d the service's templates `include`, each with whether a template renders it. */
export function nginxIncludes(service: ComposeService): { file: string; mounted: boolean }[] {
  const templates = mountedTemplates(service);
  return [...templates.values()].flatMap((f) =>
    [...read(f).matchAll(/^\s*include \/etc\/nginx\/conf\.d\/(\S+);$/gm)].map((m) => ({ file: m[1]!, mounted: templates.has(m[1]!) })),
  );
}

/** The `location` lines of the nginx config: modifier (`=`, `~` or none) and path or pattern. */
export function nginxLocations(): { modifier: string; path: string }[] {
  return [...read(NGINX_LOCATIONS_TEMPLATE).matchAll(/^location\s+(?:(=|~\*?|\^~)\s+)?(\S+)\s*\{/gm)].map((m) => ({ modifier: m[1] ?? "", path: m[2]! }));
}
