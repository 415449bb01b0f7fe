import { test } from "uvu";
import * as assert from "uvu/assert";
import { LocalAgreement, skipCommitted, type Word } from "../../src/live/agreement.ts";
import { PcmBuffer } from "../../src/live/buffer.ts";
import { RawIntake } from "../../src/live/intake.ts";

const words = (text: string, from = 0): Word[] => text.split(" ").map((t, i) => ({ text: t, start: from + i * 0.3, end: from + i * 0.3 + 0.25 }));
const texts = (ws: Word[]) => ws.map((w) => w.text).join(" ");

test("LocalAgreement-2 commits only what two consecutive decodes agree on, once", () => {
  const la = new LocalAgreement();
  let r = la.update(words("And so my fellow"));
  assert.is(texts(r.committed), "", "a single decode commits nothing");
  r = la.update(words("And so, my fellow Americans"));
  assert.is(texts(r.committed), "And so, my fellow", "agreement ignores punctuation and case");
  assert.is(texts(r.tail), "Americans");
  r = la.update(words("And so my fellow Americans, ask not"));
  assert.is(texts(r.committed), "Americans,");
  assert.is(texts(r.tail), "ask not");
  r = la.update(words("And so my fellow Americans ask what"));
  assert.is(texts(r.committed), "ask", "stops at the first disagreement");
  assert.is(texts(la.commitAll(words("And so my fellow Americans ask not what your country"))), "not what your country");
});

test("after a trim at the last committed word, a redecode that still hears it does not repeat it", () => {
  const la = new LocalAgreement();
  la.update(words("ask what you can"));
  la.update(words("ask what you can do"));
  assert.is(la.lastCommitted?.text, "can");
  la.trimmedToCommitted();
  let r = la.update(words("can do for"));
  assert.is(texts(r.committed), "do", "agreed with the tail kept across the trim; 'can' not repeated");
  r = la.update(words("for your country"));
  assert.is(texts(r.committed), "for");
});

test("a redecode that spells committed words differently neither repeats nor drops the next word", () => {
  assert.is(skipCommitted(["fellow", "americans"], ["fellowamericans", "ask", "not"]), 1);
  assert.is(skipCommitted(["ask", "not"], ["ask", "knot", "what"]), 2);
  assert.is(skipCommitted(["hello"], ["hello", "hello", "world"]), 1);
  assert.is(skipCommitted([], ["a"]), 0);
  assert.is(skipCommitted(["a", "b", "c"], ["a", "b"]), 2, "a shorter redecode: everything is committed");
});

test("PcmBuffer addresses absolute samples, trims, and refuses what does not fit", () => {
  const b = new PcmBuffer(10);
  assert.ok(b.append(Float32Array.from([0, 1, 2, 3, 4, 5])));
  b.trimTo(4);
  assert.is(b.start, 4);
  assert.equal([...b.slice(4, 6)], [4, 5]);
  assert.ok(b.append(Float32Array.from([6, 7, 8, 9, 10, 11, 12, 13])));
  assert.is(b.end, 14);
  assert.not.ok(b.append(new Float32Array(1)), "full");
  assert.equal([...b.slice(12, 99)], [12, 13]);
});

test("raw intake reassembles samples split across frames and sanitises floats", () => {
  const got: number[] = [];
  const s16 = new RawIntake(2, { pcm: (p) => got.push(...p), end: () => undefined, failed: () => undefined });
  const bytes = Buffer.alloc(6);
  bytes.writeInt16LE(16384, 0);
  bytes.writeInt16LE(-32768, 2);
  bytes.writeInt16LE(8192, 4);
  s16.write(bytes.subarray(0, 3));
  s16.write(bytes.subarray(3));
  assert.equal(got, [0.5, -1, 0.25]);
  got.length = 0;
  const f32 = new RawIntake(4, { pcm: (p) => got.push(...p), end: () => undefined, failed: () => undefined });
  const floats = Buffer.alloc(12);
  floats.writeFloatLE(0.5, 0);
  floats.writeFloatLE(Number.NaN, 4);
  floats.writeFloatLE(7, 8);
  f32.write(floats);
  assert.equal(got, [0.5, 0, 1]);
});

test.run();
