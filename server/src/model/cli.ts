// `npm run fetch-model`: fetches and verifies the configured model without starting the server.
import { loadConfig } from "../config.ts";
import { resolveModel } from "./resolve.ts";

try {
  const config = loadConfig();
  const model = await resolveModel(config.model, config.modelDir, (m) => console.error(m));
  console.log(model.file);
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
