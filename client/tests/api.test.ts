import { test } from "uvu";
import * as assert from "uvu/assert";
import { authHeaders, errorFromResponse } from "../src/lib/api.ts";

test("server error bodies keep their stable code and human message", () => {
  const body = JSON.stringify({ error: { code: "queue_full", message: "The queue is full." } });
  assert.equal(errorFromResponse(503, body, "7"), { code: "queue_full", message: "The queue is full.", retryAfterSeconds: 7 });
});

test("answers without a JSON body get the code matching their status", () => {
  assert.equal(errorFromResponse(413, "<html>too big</html>", null), { code: "upload_too_large", message: "The server answered 413." });
  assert.is(errorFromResponse(502, "", null).code, "internal_error");
  assert.is(errorFromResponse(503, "{}", "soon").retryAfterSeconds, undefined, "a non-numeric Retry-After is ignored");
});

test("unknown codes in a body are not trusted", () => {
  const body = JSON.stringify({ error: { code: "made_up", message: "x" } });
  assert.is(errorFromResponse(404, body, null).code, "not_found");
});

test("the API key goes in a Bearer header only when set", () => {
  assert.equal(authHeaders(""), {});
  assert.equal(authHeaders("s3cret"), { Authorization: "Bearer s3cret" });
});

test.run();
