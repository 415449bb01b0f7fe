import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { CATALOG, MODEL_BASE_URL, findCatalogModel, type CatalogModel } from "./catalog.ts";
import { fetchTinyFromDebian } from "./debian.ts";
import { download } from "./download.ts";
import { ModelError, verifyModelFile } from "./verify.ts";

export interface ResolvedModel {
  name: string;
  file: string;
  /** True when the file's digest matched the catalog; false for a custom file only checked for the ggml magic. */
  verified: boolean;
}

type Say = (message: string) => void;

function looksLikePath(model: string): boolean {
  return model.includes("/") || model.includes(path.sep) || model.endsWith(".bin");
}

/** Finds MODEL (a path or a catalog name) in MODEL_DIR, fetching and verifying it when missing. */
export async function resolveModel(model: string, modelDir: string, say: Say): Promise<ResolvedModel> {
  if (looksLikePath(model)) return resolvePath(path.resolve(model));
  const entry = findCatalogModel(model);
  if (!entry) {
    throw new ModelError(`Unknown model "${model}". Known: ${CATALOG.map((m) => m.name).join(", ")}; or set MODEL to a file path.`);
  }
  const file = path.join(modelDir, entry.file);
  if (existsSync(file)) {
    await verifyModelFile(file, entry);
    return { name: entry.name, file, verified: true };
  }
  await fetchModel(entry, modelDir, file, say);
  return { name: entry.name, file, verified: true };
}

async function resolvePath(file: string): Promise<ResolvedModel> {
  if (!existsSync(file)) throw new ModelError(`MODEL file ${file} does not exist.`);
  const entry = findCatalogModel(path.basename(file));
  await verifyModelFile(file, entry);
  return { name: entry?.name ?? path.basename(file, ".bin").replace(/^ggml-/, ""), file, verified: entry !== undefined };
}

async function fetchModel(entry: CatalogModel, modelDir: string, file: string, say: Say): Promise<void> {
  await mkdir(modelDir, { recursive: true });
  const sources: [string, () => Promise<void>][] = [
    ["Hugging Face", () => download(`${MODEL_BASE_URL}/${entry.file}`, file, `fetching ${entry.file}`)],
  ];
  if (entry.name === "tiny-q8_0") sources.push(["Debian's archive", () => fetchTinyFromDebian(file)]);
  const failures: string[] = [];
  for (const [source, fetchFrom] of sources) {
    say(`model ${entry.file} not in ${modelDir}: fetching from ${source}`);
    try {
      await fetchFrom();
      await verifyModelFile(file, entry);
      say(`model ${entry.file} fetched and verified`);
      return;
    } catch (err) {
      await rm(file, { force: true });
      const reason = `${source}: ${err instanceof Error ? err.message : String(err)}`;
      say(`could not fetch from ${reason}`);
      failures.push(reason);
    }
  }
  throw new ModelError(
    `Could not fetch ${entry.file} (${failures.join("; ")}). Download it by hand into ${modelDir}, or set MODEL to a local file.`,
  );
}
