import { describe, expect, it } from "vitest";
import { channelTarget, configFromForm } from "./channel-kinds.ts";

describe("configFromForm", () => {
  it("leaves empty optional fields out and trims", () => {
    expect(configFromForm("webhook", { url: " https://h.example/x ", secret: "" })).toEqual({
      url: "https://h.example/x",
    });
  });
  it("splits a list of addresses, one stays a string", () => {
    expect(configFromForm("email", { smtpUrl: "smtp://h:25", from: "a@x.io", to: "b@x.io, c@x.io" }).to).toEqual([
      "b@x.io",
      "c@x.io",
    ]);
    expect(configFromForm("email", { smtpUrl: "smtp://h:25", from: "a@x.io", to: "b@x.io" }).to).toBe("b@x.io");
  });
});

describe("channelTarget", () => {
  it("names the host of a Slack URL (the URL itself is secret) and the recipients of email", () => {
    const base = { id: "1", name: "n", secrets: [], createdAt: "" };
    expect(channelTarget({ ...base, kind: "slack", config: { host: "hooks.slack.com" } })).toBe("hooks.slack.com");
    expect(channelTarget({ ...base, kind: "email", config: { to: ["a@x.io", "b@x.io"], smtpHost: "mail:25" } })).toBe(
      "a@x.io, b@x.io via mail:25",
    );
  });
});
