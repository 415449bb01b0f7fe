import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface FfmpegBinary {
  path: string;
  source: "FFMPEG_PATH" | "ffmpeg-static" | "PATH";
  version: string;
}

export class FfmpegMissingError extends Error {}

async function staticPath(): Promise<string | null> {
  try {
    // ffmpeg-static is optional: its install script downloads from GitHub, which fails offline.
    const found = createRequire(import.meta.url)("ffmpeg-static") as string | null;
    return typeof found === "string" ? found : null;
  } catch {
    return null;
  }
}

async function versionOf(path: string): Promise<string | null> {
  try {
    const { stdout } = await run(path, ["-hide_banner", "-version"], { timeout: 10_000 });
    return stdout.split("\n")[0]?.trim() ?? "unknown";
  } catch {
    return null;
  }
}

/** FFMPEG_PATH, else ffmpeg-static's binary, else `ffmpeg` on PATH: the first that runs. */
export async function findFfmpeg(configured: string | null): Promise<FfmpegBinary> {
  if (configured) {
    const version = await versionOf(configured);
    if (!version) throw new FfmpegMissingError(`FFMPEG_PATH=${configured} does not run (is it an ffmpeg binary?).`);
    return { path: configured, source: "FFMPEG_PATH", version };
  }
  const candidates: [string | null, FfmpegBinary["source"]][] = [[await staticPath(), "ffmpeg-static"], ["ffmpeg", "PATH"]];
  for (const [path, source] of candidates) {
    const version = path ? await versionOf(path) : null;
    if (path && version) return { path, source, version };
  }
  throw new FfmpegMissingError(
    "No working ffmpeg: set FFMPEG_PATH, or install it (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg).",
  );
}
