import { readFileSync } from "node:fs";
import path from "node:path";
import { ROOT_DIR } from "../../src/config.ts";

/** The team kit's recordings; AUDIO_DIR overrides the location. */
export const AUDIO_DIR = path.resolve(ROOT_DIR, process.env.AUDIO_DIR ?? "../shared/audio");

export interface Recording {
  file: string;
  path: string;
  durationSeconds: number;
  language: string;
  transcript: string;
}

export function manifest(): Recording[] {
  const [header, ...rows] = readFileSync(path.join(AUDIO_DIR, "manifest.tsv"), "utf8").trim().split("\n");
  const cols = header!.split("\t");
  return rows.map((row) => {
    const cells = row.split("\t");
    const get = (name: string) => cells[cols.indexOf(name)] ?? "";
    return {
      file: get("file"),
      path: path.join(AUDIO_DIR, get("file")),
      durationSeconds: Number(get("duration_s")),
      language: get("language"),
      transcript: get("transcript"),
    };
  });
}

export function recording(file: string): Recording {
  const found = manifest().find((r) => r.file === file);
  if (!found) throw new Error(`${file} is not in ${AUDIO_DIR}/manifest.tsv`);
  return found;
}
