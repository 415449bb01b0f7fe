import { test } from "uvu";
import * as assert from "uvu/assert";
import { RateLimiter } from "../../src/http/access.ts";

test("rate limiter: a sliding minute per client, Retry-After until the oldest hit expires, bounded memory", () => {
  const limiter = new RateLimiter(2, 3);
  assert.is(limiter.take("a", 0), null);
  assert.is(limiter.take("a", 10_000), null);
  assert.is(limiter.take("a", 20_000), 40, "third hit in the minute waits until the first one is 60 s old");
  assert.is(limiter.take("b", 20_000), null, "other clients are counted apart");
  assert.is(limiter.take("a", 60_000), null, "the first hit expired");
  for (const c of ["c", "d", "e"]) limiter.take(c, 61_000);
  assert.is(limiter.take("a", 61_000), null, "the least recent clients were forgotten to stay under 3 entries");
  assert.is(new RateLimiter(0).take("a"), null, "0 = no limit");
});

test.run();
