import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import path from "node:path";
import { ERROR_CODES } from "@whisperrr/shared";
import { ROOT_DIR } from "../../src/config.ts";

/** The README's error table lists exactly the codes of shared/src/errors.ts, each with its status. */
test("README error codes table matches ERROR_CODES", () => {
  const readme = readFileSync(path.join(ROOT_DIR, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("### Error codes"), readme.indexOf("### API key"));
  const rows = new Map([...section.matchAll(/^\| `(\w+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])]));
  assert.equal(Object.fromEntries(rows), { ...ERROR_CODES }, "add the missing code (or remove the stale one) in README's '### Error codes'");
});

test.run();
