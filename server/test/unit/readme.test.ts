import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import path from "node:path";
import { configTable } from "../../../scripts/config-table.ts";
import { ROOT_DIR } from "../../src/config.ts";

test("README configuration table is the one generated from the configuration module", () => {
  const readme = readFileSync(path.join(ROOT_DIR, "README.md"), "utf8");
  const table = readme.match(/<!-- config:start -->\n([\s\S]*?)\n<!-- config:end -->/)?.[1];
  assert.is(table, configTable(), "run `npx tsx scripts/config-table.ts` and paste its output into README.md");
});

test.run();
