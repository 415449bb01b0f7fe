import { test } from "uvu";
import * as assert from "uvu/assert";
import { alignCommitted, LocalAgreement, withoutLoops, type Word } from "../../src/live/agreement.ts";
import { PcmBuffer } from "../../src/live/buffer.ts";
import { RawIntake } from "../../src/live/intake.ts";
import { SpeechTracker } from "../../src/live/speech.ts";
import { toWords } from "../../src/live/words.ts";
import { s16ToFloat32 } from "../../src/audio/pcm.ts";
import { recording } from "../support/audio.ts";
import { pcmOf } from "./stream.ts";

const words = (text: string, from = 0): Word[] => text.split(" ").map((t, i) => ({ text: t, start: from + i * 0.3, end: from + i * 0.3 + 0.25 }));
const skip = (committed: string[], hyp: string[]) => alignCommitted(committed, hyp).skip;
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

test("words heard again after a cut, before the committed ones, are not committed twice (asterisk: 'installed | and executed the')", () => {
  const la = new LocalAgreement();
  la.update(words("you have successfully installed"));
  la.update(words("you have successfully installed an"));
  // Cut and committed up to 1.1 s; "installed" (committed) lies past the cut and is heard again.
  la.commitAll(words("you have successfully", 0), true);
  la.update(words("installed and executed the", 1.2));
  let r = la.update(words("installed and executed the asterisk", 1.2));
  assert.is(texts(r.committed), "and executed the", "the echo of 'installed' is skipped");
  r = la.update(words("installed and executed the asterisk open source", 1.2));
  assert.is(texts(r.committed), "asterisk", "committed words after the echo are aligned too");
});

test("a redecode that hears only the start of what is committed commits nothing again (asterisk: 'You have also' twice)", () => {
  const la = new LocalAgreement();
  la.update(words("You have also installed a set of sample"));
  la.update(words("You have also installed a set of sample sounds and"));
  la.update(words("You have also"));
  const r = la.update(words("You have also"));
  assert.is(texts(r.committed), "", "nothing new was heard");
  assert.is(texts(la.update(words("You have also installed a set of sample sounds and configuration")).committed), "");
  assert.is(texts(la.update(words("You have also installed a set of sample sounds and configuration files")).committed), "sounds and configuration");
});

test("a cut in long speech before some committed words keeps them committed for the next buffer (librispeech: a pause before 'bosom')", () => {
  const la = new LocalAgreement();
  la.update(words("whose place was on that same dishonoured bosom to connect her"));
  la.update(words("whose place was on that same dishonoured bosom to connect her parent"));
  // The VAD's latest pause lies before "bosom": the decode up to it hears the first seven words.
  // The next buffer starts there, over a second after the last committed word by its time.
  assert.is(texts(la.commitAll(words("whose place was on that same dishonoured"), true)), "", "all of it was committed");
  const r = la.update(words("bosom to connect her parent for ever", 4));
  assert.is(texts(r.committed), "", "'bosom to connect her' is not committed again");
  assert.is(texts(la.update(words("bosom to connect her parent for ever with", 4)).committed), "parent for ever");
  assert.equal(alignCommitted(["whose", "place", "was", "on", "that", "same"], ["whose", "place"]), { skip: 2, reached: 2 });
});

test("words heard again past a cut, respelled or alone, are not committed again (asterisk, 5 s buffer: 'installed | and executed | installed | an executed')", () => {
  const la = new LocalAgreement();
  la.update(words("Congratulations you have successfully installed and executed"));
  la.update(words("Congratulations you have successfully installed and executed the"));
  // The VAD's longest pause lies inside "installed": the decode up to it hears it whole.
  la.commitAll(words("Congratulations you have successfully installed"), true);
  la.update(words("installed", 1.5));
  assert.is(texts(la.update(words("installed", 1.5)).committed), "", "'installed' alone is an echo");
  la.update(words("installed an executed the Asterisk", 1.5));
  assert.is(texts(la.update(words("installed an executed the Asterisk open", 1.5)).committed), "the Asterisk");
});

test("an utterance-end decode that stops early commits the latest partial (browser JFK: 'Ask what you can')", () => {
  const la = new LocalAgreement();
  la.update(words("Ask"));
  la.update(words("Ask what you can do for your country."));
  assert.is(texts(la.commitAll(words("Ask what you can"))), "what you can do for your country.");
  la.update(words("Ask not what", 5));
  la.update(words("Ask not what your country", 5));
  assert.is(texts(la.commitAll(words("Ask not what your nation can", 5))), "your nation can", "a decode that heard differently is committed as heard");
});

test("after the end of an utterance nothing stays committed", () => {
  const la = new LocalAgreement();
  la.update(words("ask not what your country"));
  la.update(words("ask not what your country can"));
  assert.is(texts(la.commitAll(words("ask not"))), "can", "the partial, as the decode stopped early");
  assert.is(texts(la.update(words("what your country can do for you", 5)).tail), "what your country can do for you", "a new utterance that happens to repeat words is all new");
});

test("an utterance commit is not repeated when the next buffer's decode echoes it (JFK f32le: 'Ask not. And so my fellow Americans. Ask not.')", () => {
  const la = new LocalAgreement();
  la.update(words("And so my fellow"));
  la.update(words("And so my fellow Americans. Ask"));
  assert.is(texts(la.commitAll(words("And so my fellow Americans. Ask not."))), "Americans. Ask not.");
  // The buffer now starts after "not."; whisper, prompted with the finals, hears them again.
  let r = la.update(words("and so my fellow Americans, ask not! What your country", 1.8));
  assert.is(texts(r.committed), "", "the echo is no agreement");
  assert.is(texts(r.tail), "What your country");
  r = la.update(words("And so my fellow Americans. Ask not. What your country can", 1.8));
  assert.is(texts(r.committed), "What your country");
  assert.is(texts(la.commitAll(words("ask not what your country can do for you", 1.8))), "can do for you", "nor at the final flush");
  assert.is(texts(la.commitAll(words("Ask what you can do", 9))), "Ask what you can do", "a later utterance is taken whole");
});

test("a hypothesis in which whisper loops on the last sentence commits it once (JFK f32le final flush)", () => {
  const la = new LocalAgreement();
  la.update(words("Ask what you can do"));
  la.update(words("Ask what you can do for"));
  const looped = words("Ask what you can do for your country! Ask what you can do for your country!");
  assert.is(texts(la.commitAll(looped)), "for your country!");
  assert.is(texts(withoutLoops(words("a b c a b c a b c"))), "a b c", "every copy goes");
  assert.is(texts(withoutLoops(words("thank you thank you"))), "thank you thank you", "two-word repeats can be speech");
  assert.is(texts(withoutLoops(words("ask not what your country can do for you ask what you can do for your country"))), "ask not what your country can do for you ask what you can do for your country");
});

test("the VAD's pauses give cut points between words (JFK: '... fellow Americans, | ask not')", async () => {
  const pcm = s16ToFloat32(pcmOf(recording("jfk_inaugural_16k.wav").path));
  const buffer = new PcmBuffer(pcm.length);
  buffer.append(pcm);
  const speech = new SpeechTracker(0.5, 8000);
  await speech.analyze(buffer, () => undefined);
  const at = (s: number) => Math.round(s * 16000);
  const cut = speech.longestPause(at(2), at(3.5));
  assert.ok(cut !== null && cut > at(2.3) && cut < at(3.2), `in the pause after "Americans" (VAD: 2.21-3.30 s), got ${cut}`);
  assert.is(speech.longestPause(at(0.5), at(1.9)), null, "no pause inside 'And so my fellow'");
  speech.forgetBefore(at(4));
  assert.is(speech.longestPause(at(2), at(3.5)), null, "forgotten once trimmed");
});

test("words whisper squeezes into the last 0.1 s of the audio are dropped (asterisk: a loop on the previous sentence at 18.97-18.97)", () => {
  // 7.136 s decoded from 11.84 s of session time; whisper ran out of audio after "using" and looped.
  const raw = (text: string, from: number, to: number) => ({ word: text, from, to });
  const words = toWords(
    [{ from: 0, to: 7136, text: "", lang: "en", words: [raw("If", 6070, 6180), raw("you", 6220, 6470), raw("are", 6470, 6750), raw("using", 6750, 7130), raw("a", 7130, 7136), raw("console,", 7130, 7136), raw("you", 7136, 7136), raw("will", 7136, 7136), raw("navigate", 7136, 7136)] }],
    11.84,
    7.136,
  );
  assert.is(texts(words), "If you are using");
  assert.ok(Math.abs(words[0]!.start - 17.91) < 1e-9, "session time");
  const last = toWords([{ from: 0, to: 2000, text: "", lang: "en", words: [raw("your", 1500, 1700), raw("country.", 1950, 2000)] }], 9, 2);
  assert.is(texts(last), "your country.", "one word at the very end may be real (cut short): kept");
  const interpolated = toWords([{ from: 0, to: 1000, text: "ask not", lang: "en" }], 2, 1.5);
  assert.is(texts(interpolated), "ask not", "segments without token times are spread over their span");
});

test("an utterance is cut up to 0.5 s after its last speech frame, short of what the VAD has not cleared (JFK: 'not' rings until ~4.8 s, VAD speech ends 4.38 s)", () => {
  const at = (s: number) => Math.round(s * 16000);
  const speech = new SpeechTracker(0.5, at(0.5));
  speech.lastSpeechEnd = at(4.38);
  speech.analyzedTo = at(4.8);
  assert.is(speech.utteranceEnd(0), null, "a pause shorter than VAD_MIN_SILENCE_MS goes on");
  speech.analyzedTo = at(4.88);
  assert.is(speech.utteranceEnd(0), at(4.38) + at(0.35), "0.15 s short of the analysed end");
  speech.analyzedTo = at(6);
  assert.is(speech.utteranceEnd(0), at(4.38) + at(0.5), "at most 0.5 s of the pause");
  assert.is(speech.utteranceEnd(at(5)), null, "no speech in the buffer");
  const quick = new SpeechTracker(0.5, at(0.1));
  quick.lastSpeechEnd = at(1);
  quick.analyzedTo = at(1.1);
  assert.is(quick.utteranceEnd(0), at(1.1), "never past what the VAD has seen");
});

test("a redecode that spells committed words differently neither repeats nor drops the next word", () => {
  assert.is(skip(["fellow", "americans"], ["fellowamericans", "ask", "not"]), 1);
  assert.is(skip(["ask", "not"], ["ask", "knot", "what"]), 2);
  assert.is(skip(["hello"], ["hello", "hello", "world"]), 1);
  assert.is(skip([], ["a"]), 0);
  assert.is(skip(["a", "b", "c"], ["a", "b"]), 2, "a shorter redecode: everything is committed");
  assert.is(skip(["you", "have", "also", "installed", "a", "set", "of", "sample", "sounds"], ["you", "have", "also"]), 3, "far shorter too");
  assert.is(skip(["started"], ["like", "a", "normal"]), 0, "whisper left out a committed word still in the buffer: nothing it heard is skipped");
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
