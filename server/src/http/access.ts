import { createHash, timingSafeEqual } from "node:crypto";
import type { HttpRequest, HttpResponse, RecognizedString, TemplatedApp, WebSocketBehavior } from "uWebSockets.js";
import type { ErrorCode } from "@whisperrr/shared";
import type { Config } from "../config.ts";
import { Reply } from "./respond.ts";

/**
 * Access control for every route: API key, CORS allowlist, rate limit on job creation, request
 * size limits and security headers. `guardApp` wraps the uWS app so that every route registered
 * on it goes through `AccessPolicy`; no route has to remember to check anything itself.
 */

export type AccessSettings = Pick<Config, "apiKey" | "corsOrigins" | "rateLimitPerMinute" | "metricsPublic">;

/** Longest path + query accepted; far beyond any real job URL. */
const MAX_URL_BYTES = 8 * 1024;
/** Largest sum of header names and values accepted. */
const MAX_HEADER_BYTES = 16 * 1024;
/** Refused requests with a declared body up to this size are read before the answer, so clients see the status. */
const DRAIN_LIMIT = 16 * 1024 * 1024;
const OPEN_PATHS = new Set(["/healthz", "/readyz"]);
/** Everything else answered to GET/HEAD is the browser client's static files, which hold no data. */
const API_PREFIXES = ["/api", "/v1", "/ws", "/metrics"];
/** The subscription socket only reads events; other WebSocket routes (live audio) create jobs. */
const SUBSCRIPTION_SOCKET = "/ws";
const EXPOSED_HEADERS = "Location, Retry-After, X-Job-Status, Content-Disposition";
const ALLOWED_HEADERS = "Authorization, Content-Type, Last-Event-ID";

interface Refusal {
  code: ErrorCode;
  message: string;
  headers?: Record<string, string>;
}

/** What a guard needs from a request, read before the handler runs (uWS requests die after it). */
interface RequestFacts {
  method: string;
  path: string;
  origin: string;
  host: string;
  client: string;
  declaredBytes: number;
  refusal: Refusal | null;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest();

/** Per-client sliding window of job creations; bounded in memory whatever the number of clients. */
export class RateLimiter {
  private hits = new Map<string, number[]>();

  constructor(
    private readonly perMinute: number,
    private readonly maxClients = 10_000,
  ) {}

  /** Records a hit; returns the seconds to wait when the client is over its limit (the hit is not recorded then). */
  take(client: string, now = Date.now()): number | null {
    if (this.perMinute <= 0) return null;
    const recent = (this.hits.get(client) ?? []).filter((t) => now - t < 60_000);
    if (recent.length >= this.perMinute) {
      this.hits.set(client, recent);
      return Math.max(1, Math.ceil((recent[0]! + 60_000 - now) / 1000));
    }
    recent.push(now);
    this.hits.delete(client);
    this.hits.set(client, recent);
    if (this.hits.size > this.maxClients) this.forgetLeastRecent();
    return null;
  }

  /** The map is in order of last hit, so the first entries are the clients seen longest ago. */
  private forgetLeastRecent(): void {
    for (const client of this.hits.keys()) {
      if (this.hits.size <= this.maxClients) return;
      this.hits.delete(client);
    }
  }
}

/** The rules; `guardApp` applies them to every request. */
export class AccessPolicy {
  private readonly keyHash: Buffer | null;
  private readonly origins: Set<string>;
  private readonly limiter: RateLimiter;

  constructor(private readonly settings: AccessSettings) {
    this.keyHash = settings.apiKey ? sha256(settings.apiKey) : null;
    this.origins = new Set(settings.corsOrigins);
    this.limiter = new RateLimiter(settings.rateLimitPerMinute);
  }

  needsKey(method: string, path: string, websocket: boolean): boolean {
    if (!this.keyHash || OPEN_PATHS.has(path)) return false;
    if (path === "/metrics" && this.settings.metricsPublic) return false;
    if (websocket || (method !== "get" && method !== "head")) return true;
    return API_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`));
  }

  /** `Authorization: Bearer <key>`, or `access_token=<key>` in the query for EventSource and WebSocket. */
  hasKey(authorization: string, query: URLSearchParams): boolean {
    if (!this.keyHash) return true;
    const bearer = authorization.match(/^Bearer +(\S+)\s*$/i)?.[1];
    const given = bearer ?? query.get("access_token");
    return given !== null && timingSafeEqual(sha256(given), this.keyHash);
  }

  /** Origins other than the page's own must be on the list. */
  originAllowed(origin: string, host: string): boolean {
    return origin === "" || isSameOrigin(origin, host) || this.origins.has(origin);
  }

  corsHeaders(origin: string, host: string): Record<string, string> {
    if (origin === "" || isSameOrigin(origin, host) || !this.origins.has(origin)) return {};
    return { "Access-Control-Allow-Origin": origin, Vary: "Origin", "Access-Control-Expose-Headers": EXPOSED_HEADERS };
  }

  preflightHeaders(origin: string): Record<string, string> {
    return {
      "Access-Control-Allow-Origin": origin,
      "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
      "Access-Control-Allow-Headers": ALLOWED_HEADERS,
      "Access-Control-Max-Age": "600",
      Vary: "Origin",
    };
  }

  /** Why this request may not reach its route, or null. Counts a job creation against the client's limit. */
  check(facts: RequestFacts, authorization: string, query: URLSearchParams, websocket: boolean, createsJob: boolean): Refusal | null {
    if (facts.refusal) return facts.refusal;
    if (!this.originAllowed(facts.origin, facts.host) && (websocket || !["get", "head"].includes(facts.method))) {
      return { code: "origin_not_allowed", message: `Origin ${facts.origin.slice(0, 100)} is not allowed (CORS_ORIGINS).` };
    }
    if (this.needsKey(facts.method, facts.path, websocket) && !this.hasKey(authorization, query)) {
      return {
        code: "unauthorized",
        message:
          authorization || query.has("access_token")
            ? "The API key is not valid."
            : "An API key is required: send `Authorization: Bearer <key>` (or `?access_token=<key>` for EventSource/WebSocket).",
        headers: { "WWW-Authenticate": 'Bearer realm="whisperrr"' },
      };
    }
    const wait = createsJob ? this.limiter.take(facts.client) : null;
    if (wait !== null) {
      return { code: "rate_limited", message: `Too many jobs from this client (RATE_LIMIT_PER_MINUTE=${this.settings.rateLimitPerMinute}); retry in ${wait} s.`, headers: { "Retry-After": String(wait) } };
    }
    return null;
  }
}

function isSameOrigin(origin: string, host: string): boolean {
  return host !== "" && (origin === `http://${host}` || origin === `https://${host}`);
}

/** Hosts are echoed into the CSP; anything unusual is left out rather than escaped. */
const safeHost = (host: string) => (/^[a-z0-9.:[\]-]{1,255}$/i.test(host) ? host : "");

/** sha256 sources for the inline scripts of a page (SvelteKit's bootstrap), so no 'unsafe-inline' is needed. */
function inlineScriptHashes(html: string): string[] {
  const hashes: string[] = [];
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
    if (/\bsrc\s*=/i.test(m[1]!) || m[2]!.length === 0) continue;
    hashes.push(`'sha256-${createHash("sha256").update(m[2]!).digest("base64")}'`);
  }
  return hashes;
}

/**
 * Headers for the client's pages. The CSP allows only what the app uses: its own scripts
 * (plus the page's inline bootstrap, by hash), media from blob: URLs (the local file player),
 * and connections to this server over HTTP and WebSocket. Inline styles are allowed because
 * Svelte writes style attributes; styles cannot run code.
 */
export function securityHeaders(host = "", html = ""): Record<string, string> {
  const self = safeHost(host);
  const sockets = self ? ` ws://${self} wss://${self}` : "";
  const csp = [
    "default-src 'self'",
    ["script-src 'self'", ...inlineScriptHashes(html)].join(" "),
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "worker-src 'self' blob:",
    `connect-src 'self'${sockets}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
  return { ...BASE_HEADERS, "Content-Security-Policy": csp };
}

const BASE_HEADERS = { "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer" };
/** Non-HTML answers (JSON, transcripts, events) need no resources at all. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'";

function readFacts(res: HttpResponse, req: HttpRequest): RequestFacts {
  const method = req.getMethod().toLowerCase();
  const path = req.getUrl();
  const query = req.getQuery() ?? "";
  let headerBytes = 0;
  req.forEach((k, v) => (headerBytes += k.length + v.length));
  const length = Number(req.getHeader("content-length") || "0");
  let refusal: Refusal | null = null;
  if (path.length + query.length > MAX_URL_BYTES) refusal = { code: "uri_too_long", message: `The URL is longer than ${MAX_URL_BYTES} bytes.` };
  else if (headerBytes > MAX_HEADER_BYTES) refusal = { code: "headers_too_large", message: `The request headers are larger than ${MAX_HEADER_BYTES} bytes.` };
  return {
    method,
    path,
    origin: req.getHeader("origin"),
    host: req.getHeader("host"),
    client: Buffer.from(res.getRemoteAddressAsText()).toString(),
    declaredBytes: Number.isFinite(length) ? length : Number.MAX_SAFE_INTEGER,
    refusal,
  };
}

/** Answers a refused request; a small declared body is read first so the client sees the status rather than a reset. */
function refuse(res: HttpResponse, refusal: Refusal, facts: RequestFacts): void {
  const reply = new Reply(res);
  const headers = refusal.headers ?? {};
  const hasBody = !["get", "head", "options"].includes(facts.method) && facts.declaredBytes > 0;
  if (!hasBody || facts.declaredBytes > DRAIN_LIMIT || refusal.code === "rate_limited") {
    return reply.error(refusal.code, refusal.message, headers, hasBody);
  }
  let read = 0;
  res.onData((chunk, isLast) => {
    read += chunk.byteLength;
    if (isLast || read > DRAIN_LIMIT) reply.error(refusal.code, refusal.message, headers, !isLast);
  });
}

/**
 * Adds headers to whatever the route answers, once, just before the first body bytes, and only
 * those the route did not set itself. An HTML page gets the page CSP, computed from its body.
 */
function decorate(res: HttpResponse, extra: Record<string, string>, host: string): void {
  const written = new Set<string>();
  let html = false;
  let flushed = false;
  const writeHeader = res.writeHeader.bind(res);
  const flush = (body?: RecognizedString) => {
    if (flushed) return;
    flushed = true;
    const security = html ? securityHeaders(host, bodyText(body)) : { ...BASE_HEADERS, "Content-Security-Policy": API_CSP };
    for (const [k, v] of Object.entries({ ...security, ...extra })) if (!written.has(k.toLowerCase())) writeHeader(k, v);
  };
  res.writeHeader = (key: RecognizedString, value: RecognizedString) => {
    const name = String(key).toLowerCase();
    written.add(name);
    if (name === "content-type") html = /text\/html/i.test(String(value));
    return writeHeader(key, value);
  };
  for (const method of ["end", "tryEnd", "write", "endWithoutBody"] as const) {
    const original = res[method].bind(res) as (...args: unknown[]) => unknown;
    (res as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      flush(method === "endWithoutBody" ? undefined : (args[0] as RecognizedString | undefined));
      return original(...args);
    };
  }
}

function bodyText(body: RecognizedString | undefined): string {
  if (body === undefined) return "";
  if (typeof body === "string") return body;
  return Buffer.from(body instanceof ArrayBuffer ? body : body.buffer, body instanceof ArrayBuffer ? 0 : body.byteOffset, body.byteLength).toString("utf8");
}

type Handler = (res: HttpResponse, req: HttpRequest) => void | Promise<void>;
const HTTP_METHODS = ["get", "post", "put", "patch", "del", "options", "head", "any", "connect", "trace"] as const;

/**
 * The app every route is registered on. HTTP handlers run only after `policy` admits the
 * request, and their answers carry the CORS and security headers; WebSocket upgrades are
 * checked the same way (origin, key, rate limit for job-creating sockets).
 */
export function guardApp(app: TemplatedApp, policy: AccessPolicy): TemplatedApp {
  const guardHttp = (handler: Handler): Handler => (res, req) => {
    const facts = readFacts(res, req);
    const query = new URLSearchParams(req.getQuery() ?? "");
    if (facts.method === "options" && facts.origin && req.getHeader("access-control-request-method")) {
      return preflight(res, policy, facts);
    }
    const refusal = policy.check(facts, req.getHeader("authorization"), query, false, facts.method === "post");
    if (refusal) return refuse(res, refusal, facts);
    decorate(res, policy.corsHeaders(facts.origin, facts.host), facts.host);
    return handler(res, req);
  };
  const guardWs = <T>(pattern: string, behavior: WebSocketBehavior<T>): WebSocketBehavior<T> => ({
    ...behavior,
    upgrade: (res, req, context) => {
      const facts = readFacts(res, req);
      const refusal = policy.check(facts, req.getHeader("authorization"), new URLSearchParams(req.getQuery() ?? ""), true, pattern !== SUBSCRIPTION_SOCKET);
      if (refusal) return refuse(res, refusal, facts);
      if (behavior.upgrade) return behavior.upgrade(res, req, context);
      res.upgrade({} as T, req.getHeader("sec-websocket-key"), req.getHeader("sec-websocket-protocol"), req.getHeader("sec-websocket-extensions"), context);
    },
  });
  const guarded: TemplatedApp = new Proxy(app, {
    get(target, prop, receiver) {
      if ((HTTP_METHODS as readonly (string | symbol)[]).includes(prop)) {
        return (pattern: RecognizedString, handler: Handler) => {
          (target[prop as (typeof HTTP_METHODS)[number]] as (p: RecognizedString, h: Handler) => unknown)(pattern, guardHttp(handler));
          return guarded;
        };
      }
      if (prop === "ws") {
        return <T>(pattern: RecognizedString, behavior: WebSocketBehavior<T>) => {
          target.ws<T>(pattern, guardWs(String(pattern), behavior));
          return guarded;
        };
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return guarded;
}

function preflight(res: HttpResponse, policy: AccessPolicy, facts: RequestFacts): void {
  if (!policy.originAllowed(facts.origin, facts.host)) {
    return refuse(res, { code: "origin_not_allowed", message: `Origin ${facts.origin.slice(0, 100)} is not allowed (CORS_ORIGINS).` }, facts);
  }
  new Reply(res).send(204, "", policy.preflightHeaders(facts.origin));
}
