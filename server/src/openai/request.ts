import { LANGUAGES, type JobOptions, type Language, type Task } from "@whisperrr/shared";
import type { ParsedOptions } from "../http/upload.ts";

export const RESPONSE_FORMATS = ["json", "text", "srt", "vtt", "verbose_json"] as const;
export type ResponseFormat = (typeof RESPONSE_FORMATS)[number];
export const GRANULARITIES = ["word", "segment"] as const;
export type Granularity = (typeof GRANULARITIES)[number];

/** The alias OpenAI clients hard-code; it names whatever model this server loaded. */
export const MODEL_ALIAS = "whisper-1";

/** A transcription or translation request as OpenAI defines its form fields. */
export interface OpenAIRequest {
  job: JobOptions;
  format: ResponseFormat;
  stream: boolean;
  granularities: Granularity[];
}

type Parsed = { ok: true; request: OpenAIRequest } | { ok: false; code: "invalid_option" | "not_found" | "not_ready"; message: string; param: string };

const invalid = (param: string, message: string): Parsed => ({ ok: false, code: "invalid_option", message, param });

/** Model ids a request may name: the loaded model and the alias; none while loading. */
export function modelIds(loaded: string | null): string[] {
  return loaded ? [loaded, MODEL_ALIAS] : [];
}

function checkModel(model: string | undefined, loaded: string | null, complete: boolean): Parsed | null {
  if (!loaded) return { ok: false, code: "not_ready", message: "The speech model is still loading; retry shortly.", param: "model" };
  if (!model) return complete ? invalid("model", `\`model\` is required: use ${modelIds(loaded).join(" or ")}.`) : null;
  if (modelIds(loaded).includes(model)) return null;
  return { ok: false, code: "not_found", message: `The model \`${model.slice(0, 60)}\` does not exist here. Available: ${modelIds(loaded).join(", ")}.`, param: "model" };
}

function parseTemperature(raw: string | undefined): number | null | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  const t = Number(raw);
  return Number.isFinite(t) && t >= 0 && t <= 1 ? t : null;
}

/**
 * Reads the form fields of `POST /v1/audio/transcriptions` (task transcribe) or
 * `/v1/audio/translations` (task translate); unknown values are refused, naming the field.
 * Before the form is `complete`, a missing required field is not yet an error.
 */
export function parseOpenAIRequest(
  task: Task,
  loaded: string | null,
  get: (key: string) => string | undefined,
  getAll: (key: string) => string[],
  complete = true,
): Parsed {
  const modelProblem = checkModel(get("model")?.trim(), loaded, complete);
  if (modelProblem) return modelProblem;
  const language = (get("language") ?? "").trim().toLowerCase() || "auto";
  if (language !== "auto" && !(LANGUAGES as readonly string[]).includes(language)) {
    return invalid("language", `Unknown language "${language.slice(0, 20)}": use an ISO 639-1 code such as en, de, fr.`);
  }
  const format = (get("response_format") ?? "").trim() || "json";
  if (!(RESPONSE_FORMATS as readonly string[]).includes(format)) {
    return invalid("response_format", `response_format must be one of ${RESPONSE_FORMATS.join(", ")}.`);
  }
  const temperature = parseTemperature(get("temperature"));
  if (temperature === null) return invalid("temperature", "temperature must be a number from 0 to 1.");
  const granularities = [...getAll("timestamp_granularities[]"), ...getAll("timestamp_granularities")].map((g) => g.trim());
  const unknown = granularities.find((g) => !(GRANULARITIES as readonly string[]).includes(g));
  if (unknown !== undefined) return invalid("timestamp_granularities", `Unknown timestamp granularity "${unknown.slice(0, 20)}": use word or segment.`);
  if (complete && granularities.length > 0 && format !== "verbose_json") {
    return invalid("timestamp_granularities", "timestamp_granularities needs response_format verbose_json.");
  }
  const stream = (get("stream") ?? "false").trim().toLowerCase();
  if (stream !== "true" && stream !== "false") return invalid("stream", "stream must be true or false.");
  const prompt = get("prompt")?.trim();
  const job: JobOptions = {
    language: language as Language,
    task,
    ...(prompt ? { prompt } : {}),
    ...(temperature !== undefined ? { temperature } : {}),
    ...(granularities.includes("word") ? { wordTimestamps: true } : {}),
  };
  return { ok: true, request: { job, format: format as ResponseFormat, stream: stream === "true", granularities: granularities as Granularity[] } };
}

/** The same parse, in the shape the upload path asks for. */
export function jobOptionsParser(task: Task, loaded: () => string | null) {
  return (get: (key: string) => string | undefined, getAll: (key: string) => string[], complete: boolean): ParsedOptions => {
    const parsed = parseOpenAIRequest(task, loaded(), get, getAll, complete);
    return parsed.ok ? { ok: true, options: parsed.request.job } : parsed;
  };
}
