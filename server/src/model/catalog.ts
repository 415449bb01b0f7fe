/**
 * Models published in the official whisper.cpp Hugging Face repository, with the digest each
 * download is checked against. sha256 where we have pinned it ourselves; otherwise the SHA-1
 * that whisper.cpp publishes for the file (models/README.md of whisper.cpp and of the HF repo).
 */
export interface CatalogModel {
  name: string;
  file: string;
  sha256?: string;
  sha1?: string;
}

export const MODEL_BASE_URL = "https://huggingface.co/ggerganov/whisper.cpp/resolve/main";
export const DEFAULT_MODEL = "tiny-q8_0";

const SHA1: Record<string, string> = {
  tiny: "bd577a113a864445d4c299885e0cb97d4ba92b5f",
  "tiny-q5_1": "2827a03e495b1ed3048ef28a6a4620537db4ee51",
  "tiny.en": "c78c86eb1a8faa21b369bcd33207cc90d64ae9df",
  "tiny.en-q5_1": "3fb92ec865cbbc769f08137f22470d6b66e071b6",
  "tiny.en-q8_0": "802d6668e7d411123e672abe4cb6c18f12306abb",
  base: "465707469ff3a37a2b9b8d8f89f2f99de7299dac",
  "base-q5_1": "a3733eda680ef76256db5fc5dd9de8629e62c5e7",
  "base-q8_0": "7bb89bb49ed6955013b166f1b6a6c04584a20fbe",
  "base.en": "137c40403d78fd54d454da0f9bd998f78703390c",
  "base.en-q5_1": "d26d7ce5a1b6e57bea5d0431b9c20ae49423c94a",
  "base.en-q8_0": "bb1574182e9b924452bf0cd1510ac034d323e948",
  small: "55356645c2b361a969dfd0ef2c5a50d530afd8d5",
  "small-q5_1": "6fe57ddcfdd1c6b07cdcc73aaf620810ce5fc771",
  "small-q8_0": "bcad8a2083f4e53d648d586b7dbc0cd673d8afad",
  "small.en": "db8a495a91d927739e50b3fc1cc4c6b8f6c2d022",
  "small.en-q5_1": "20f54878d608f94e4a8ee3ae56016571d47cba34",
  "small.en-q8_0": "9d75ff4ccfa0a8217870d7405cf8cef0a5579852",
  medium: "fd9727b6e1217c2f614f9b698455c4ffd82463b4",
  "medium.en": "8c30f0e44ce9560643ebd10bbe50cd20eafd3723",
  "large-v1": "b1caaf735c4cc1429223d5a74f0f4d0b9b59a299",
  "large-v2": "0f4c8e34f21cf1a914c59d8b3ce882345ad349d6",
  "large-v3": "ad82bf6a9043ceed055076d0fd39f5f186ff8062",
};

export const CATALOG: readonly CatalogModel[] = [
  {
    name: "tiny-q8_0",
    file: "ggml-tiny-q8_0.bin",
    sha256: "c2085835d3f50733e2ff6e4b41ae8a2b8d8110461e18821b09a15c40c42d1cca",
    sha1: "19e8118f6652a650569f5a949d962154e01571d9",
  },
  ...Object.entries(SHA1).map(([name, sha1]) => ({ name, file: `ggml-${name}.bin`, sha1 })),
];

export function findCatalogModel(nameOrFile: string): CatalogModel | undefined {
  return CATALOG.find((m) => m.name === nameOrFile || m.file === nameOrFile);
}
