import { describe, expect, it } from "vitest";
import { NodeCloseCode } from "./close-codes.ts";
import { decodeFrame } from "./frame.ts";

describe("frames and close codes", () => {
  it("decodes a valid message, and names the request id of an invalid one when it can", () => {
    expect(decodeFrame('{"jsonrpc":"2.0","method":"fabricore/ping","id":7}')).toMatchObject({ ok: true });
    expect(decodeFrame("{nope")).toMatchObject({ ok: false, id: null, error: expect.stringMatching(/^not JSON/) });
    expect(decodeFrame('{"jsonrpc":"1.0","id":"a"}')).toMatchObject({ ok: false, id: "a" });
    expect(decodeFrame('{"jsonrpc":"1.0","id":{}}')).toMatchObject({ ok: false, id: null });
  });

  it("gives every close code one meaning", () => {
    const values = Object.values(NodeCloseCode);
    expect(new Set(values).size).toBe(values.length);
  });
});
