import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import type { CatalogModel } from "./catalog.ts";

export class ModelError extends Error {}

/** ggml model files start with the magic 0x67676d6c, stored little-endian. */
const GGML_MAGIC = 0x67676d6c;

export async function hasGgmlMagic(file: string): Promise<boolean> {
  const handle = await open(file, "r");
  try {
    const buf = Buffer.alloc(4);
    const { bytesRead } = await handle.read(buf, 0, 4, 0);
    return bytesRead === 4 && buf.readUInt32LE(0) === GGML_MAGIC;
  } finally {
    await handle.close();
  }
}

export async function digest(file: string, algorithm: "sha256" | "sha1"): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Throws a ModelError saying what is wrong and what to do when the file is not the model. */
export async function verifyModelFile(file: string, expected: CatalogModel | undefined): Promise<void> {
  if (!(await hasGgmlMagic(file))) {
    throw new ModelError(`${file} is not a whisper.cpp ggml model (bad magic). Delete it or point MODEL at a ggml .bin file.`);
  }
  if (!expected) return;
  const algorithm = expected.sha256 ? "sha256" : "sha1";
  const want = expected.sha256 ?? expected.sha1;
  const got = await digest(file, algorithm);
  if (got !== want) {
    throw new ModelError(
      `${file} is corrupt or not ${expected.file}: ${algorithm} ${got}, expected ${want}. Delete it so it is fetched again.`,
    );
  }
}
