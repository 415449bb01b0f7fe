import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { download } from "./download.ts";

/**
 * Offline-friendly source for the default model: Debian's obs-advanced-scene-switcher-data
 * (sid) ships the official ggml-tiny-q8_0.bin. Only Debian's archive is contacted; the caller
 * checks the sha256 exactly as for a Hugging Face download.
 */
const ARCHIVE = process.env.DEBIAN_MIRROR ?? "http://deb.debian.org/debian";
const PACKAGE = "obs-advanced-scene-switcher-data";
const MEMBER = "./usr/share/obs/obs-plugins/advanced-scene-switcher/res/speech/ggml-tiny-q8_0.bin";

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString("utf8"));
      else reject(new Error(`${cmd} exited ${code}: ${err.trim().slice(0, 300)}`));
    });
  });
}

async function findDebPath(work: string): Promise<string> {
  const index = path.join(work, "Packages.xz");
  await download(`${ARCHIVE}/dists/sid/main/binary-all/Packages.xz`, index, "Debian package index");
  const packages = await run("xz", ["-dc", index]);
  const stanza = packages.split("\n\n").find((s) => s.startsWith(`Package: ${PACKAGE}\n`));
  const filename = stanza?.match(/^Filename: (.+)$/m)?.[1];
  if (!filename) throw new Error(`${PACKAGE} not found in Debian sid`);
  return filename;
}

/** Extracts the model from the Debian package into `dest`. */
export async function fetchTinyFromDebian(dest: string): Promise<void> {
  const work = await mkdtemp(path.join(tmpdir(), "whisperrr-deb-"));
  try {
    const deb = path.join(work, "pkg.deb");
    await download(`${ARCHIVE}/${await findDebPath(work)}`, deb, `Debian ${PACKAGE}`);
    const tar = path.join(work, "data.tar");
    await run("sh", ["-c", 'dpkg-deb --fsys-tarfile "$1" > "$2"', "sh", deb, tar]);
    await run("tar", ["-xf", tar, "-C", work, MEMBER]);
    await run("mv", [path.join(work, MEMBER), dest]);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
