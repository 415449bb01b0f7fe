import { LANGUAGES, TASKS, type JobOptions, type Language, type Task } from "@whisperrr/shared";

export type OptionsResult = { ok: true; options: JobOptions } | { ok: false; message: string };

/** Validates `language` and `task` from a query string or form fields; unknown values are refused, not guessed. */
export function parseJobOptions(get: (key: string) => string | undefined): OptionsResult {
  const language = (get("language") ?? "auto").trim().toLowerCase() || "auto";
  const task = (get("task") ?? "transcribe").trim().toLowerCase() || "transcribe";
  if (language !== "auto" && !(LANGUAGES as readonly string[]).includes(language)) {
    return { ok: false, message: `Unknown language "${language.slice(0, 20)}": use "auto" or an ISO 639-1 code such as en, de, fr.` };
  }
  if (!(TASKS as readonly string[]).includes(task)) {
    return { ok: false, message: `Unknown task "${task.slice(0, 20)}": use "transcribe" or "translate".` };
  }
  return { ok: true, options: { language: language as Language, task: task as Task } };
}
