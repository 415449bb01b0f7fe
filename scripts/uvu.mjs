// Runs uvu and fails when not every test passed, even if uvu exits 0: uvu 0.5 reports a failing
// before/after hook as "Passed 0 / N" and still exits 0 (lukeed/uvu#60, #80), which would let a
// suite whose server never started look green. Usage: node scripts/uvu.mjs <uvu arguments>
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const uvu = path.join(root, "node_modules/uvu/bin.js");
const child = spawn(process.execPath, ["--import", "tsx", uvu, ...process.argv.slice(2)], { stdio: ["inherit", "pipe", "inherit"] });
let tail = "";
child.stdout.on("data", (chunk) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString()).slice(-4000);
});
child.on("exit", (code, signal) => {
  const plain = tail.replace(/\x1b\[[0-9;]*m/g, "");
  const count = (label) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(plain)?.[1] ?? NaN);
  const [total, passed, skipped] = [count("Total"), count("Passed"), count("Skipped")];
  if (code === 0 && !(total > 0 && passed + skipped === total)) {
    console.error(`\nuvu exited 0 but ${passed} of ${total} tests passed (a failing before/after hook, or no tests found): failing the run.`);
    process.exit(1);
  }
  process.exit(code ?? (signal ? 1 : 0));
});
