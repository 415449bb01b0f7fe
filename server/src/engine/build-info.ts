import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

export interface WhisperBuild {
  flags: string;
  features: string[];
}

/** What scripts/build-whisper.mjs compiled whisper.cpp with; null for a build it did not make. */
export function whisperBuildInfo(): WhisperBuild | null {
  try {
    const pkg = path.dirname(createRequire(import.meta.url).resolve("smart-whisper/package.json"));
    const stamp = JSON.parse(readFileSync(path.join(pkg, "build", "Release", "whisperrr-build.json"), "utf8")) as WhisperBuild;
    return { flags: stamp.flags, features: stamp.features };
  } catch {
    return null;
  }
}
