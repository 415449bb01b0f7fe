// Prints the README's configuration table from the configuration module, so the two never drift
// (server/test/unit/readme.test.ts fails when they do). Usage: npx tsx scripts/config-table.ts
import { SETTINGS } from "../server/src/config.ts";

const DEFAULT_SHOWN: Record<string, string> = {
  MODEL_DIR: "`models/`",
  CLIENT_DIR: "`client/build/`",
  POOL_SIZE: "CPU count",
  SPOOL_DIR: "`$TMPDIR/whisperrr`",
  MAX_UPLOAD_MB: "`500`",
  MAX_AUDIO_MINUTES: "`240`",
  CORS_ORIGINS: "–",
  REPLICA_ID: "`<hostname>-<pid>`",
};

export function configTable(): string {
  const rows = Object.values(SETTINGS).map((s) => {
    const fallback = DEFAULT_SHOWN[s.env] ?? (() => {
      const value = (s.parse as (raw: string | undefined) => unknown)(undefined);
      return value === null ? "–" : `\`${String(value)}\``;
    })();
    return `| \`${s.env}\` | ${fallback} | ${s.describe} |`;
  });
  return ["| Variable | Default | Meaning |", "| --- | --- | --- |", ...rows].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(configTable());
