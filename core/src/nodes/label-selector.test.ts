import { describe, expect, it } from "vitest";
import { formatSelector, matchesSelector, parseSelector, SelectorError } from "./label-selector.ts";

const web1 = { env: "prod", role: "web" };
const db1 = { env: "prod", role: "db", gpu: "" };
const canary = { env: "prod", role: "web", canary: "true" };
const staging = { env: "staging", role: "web" };
const bare = {};
const all = { web1, db1, canary, staging, bare };

function matching(selector: string): string[] {
  const parsed = parseSelector(selector);
  return Object.entries(all)
    .filter(([, labels]) => matchesSelector(parsed, labels))
    .map(([name]) => name);
}

function errorOf(selector: string): SelectorError {
  try {
    parseSelector(selector);
  } catch (error) {
    if (error instanceof SelectorError) return error;
    throw error;
  }
  throw new Error(`"${selector}" parsed`);
}

describe("parseSelector: every operator", () => {
  it.each([
    ["env=prod", ["web1", "db1", "canary"]],
    ["env==prod", ["web1", "db1", "canary"]],
    ["env!=prod", ["staging", "bare"]],
    ["role in (web,db)", ["web1", "db1", "canary", "staging"]],
    ["role notin (web)", ["db1", "bare"]],
    ["canary", ["canary"]],
    ["!canary", ["web1", "db1", "staging", "bare"]],
    ["gpu", ["db1"]],
    ["gpu=", ["db1"]],
    ["env=prod,role in (web,db),!canary", ["web1", "db1"]],
    ["", ["web1", "db1", "canary", "staging", "bare"]],
    ["   ", ["web1", "db1", "canary", "staging", "bare"]],
    ["nosuch=1", []],
    ["nosuch!=1", ["web1", "db1", "canary", "staging", "bare"]],
  ])("%s", (selector, expected) => {
    expect(matching(selector)).toEqual(expected);
  });

  it("accepts whitespace around every token", () => {
    const spaced = parseSelector("  env = prod ,  role  in  ( web , db ) , ! canary , team  ");
    expect(formatSelector(spaced)).toBe("env=prod,role in (web,db),!canary,team");
  });

  it("reads prefixed keys and rich values", () => {
    const s = parseSelector("fabricore.io/zone=eu-west-1,version in (1.2+rc,2.0),owner=ops@example.com");
    expect(s.requirements).toEqual([
      { key: "fabricore.io/zone", op: "=", value: "eu-west-1" },
      { key: "version", op: "in", values: ["1.2+rc", "2.0"] },
      { key: "owner", op: "=", value: "ops@example.com" },
    ]);
    expect(matchesSelector(s, { "fabricore.io/zone": "eu-west-1", version: "2.0", owner: "ops@example.com" })).toBe(
      true,
    );
  });

  it("removes duplicate values in a set", () => {
    expect(parseSelector("role in (web,web,db)").requirements).toEqual([
      { key: "role", op: "in", values: ["web", "db"] },
    ]);
  });

  it("does not treat inherited object properties as labels", () => {
    expect(matchesSelector(parseSelector("constructor"), {})).toBe(false);
    expect(matchesSelector(parseSelector("toString!=x"), {})).toBe(true);
  });
});

describe("parseSelector: errors name the position", () => {
  it.each([
    ["env=prod,", 9, "expected a requirement after ','"],
    [",env", 0, "expected a label key"],
    ["env=prod role=web", 9, 'expected "," or end of selector, found "r"'],
    ["role in web", 8, 'expected "(" after "in", found "w"'],
    ["role in (web", 12, 'expected "," or ")" in the value list, found end of selector'],
    ["role in ()", 9, 'expected a value, found ")"'],
    ["role in (web,)", 13, 'expected a value, found ")"'],
    ["role within (web)", 5, 'after key "role", found "within"'],
    ["role > 3", 5, 'found ">"'],
    ["env=prod=x", 8, 'found "="'],
    ["!", 1, "expected a label key, found end of selector"],
    ["!=prod", 1, 'expected a label key, found "="'],
    ["env=(prod)", 4, 'expected "," or end of selector, found "("'],
    [`${"k".repeat(64)}=v`, 0, "label key longer than 63 characters"],
    [`k=${"v".repeat(257)}`, 2, "value longer than 256 characters"],
  ])("%s → position %i", (selector, position, message) => {
    const error = errorOf(selector);
    expect(error.position).toBe(position);
    expect(error.code).toBe("invalid_selector");
    expect(error.message).toContain(message);
    expect(error.message).toContain(`at position ${position}`);
  });

  it("refuses a selector longer than 4096 characters", () => {
    expect(errorOf(`a=${"b".repeat(200)},`.repeat(30)).message).toContain("longer than 4096");
  });
});

describe("formatSelector", () => {
  it("round-trips every operator", () => {
    const text = "a=1,b!=2,c in (x,y),d notin (z),e,!f";
    expect(formatSelector(parseSelector(text))).toBe(text);
    expect(formatSelector(parseSelector("a==1"))).toBe("a=1");
  });
});
