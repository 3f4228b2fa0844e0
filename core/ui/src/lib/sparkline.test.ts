import { describe, expect, it } from "vitest";
import { sparklinePath } from "./sparkline.ts";

const box = { width: 100, height: 10, from: 0, to: 100, max: 100, gapMs: 15 };

describe("sparklinePath", () => {
  it("draws points left to right, scaled to the max", () => {
    expect(
      sparklinePath(
        [
          { t: 0, v: 0 },
          { t: 10, v: 50 },
          { t: 20, v: 100 },
        ],
        box,
      ),
    ).toBe("M0.0,10.0 l1.5,0 L10.0,5.0 L20.0,0.0");
  });

  it("breaks the line at a null or a gap, and draws nothing without values", () => {
    const d = sparklinePath(
      [
        { t: 0, v: 10 },
        { t: 10, v: null },
        { t: 20, v: 10 },
        { t: 60, v: 10 },
      ],
      box,
    );
    expect(d.match(/M/g)).toHaveLength(3);
    expect(sparklinePath([{ t: 0, v: null }], box)).toBe("");
  });

  it("scales to the largest value when no max is given (load has no ceiling)", () => {
    expect(sparklinePath([{ t: 100, v: 4 }], { ...box, max: undefined })).toBe("M100.0,0.0 l1.5,0");
  });
});
