import { describe, expect, it } from "vitest";
import type { ChainRule } from "../database/types.ts";
import { chainTargets, findChainLoop } from "./chain-rules.ts";

const rule = (job: string, on: ChainRule["on"] = ["succeeded"]): ChainRule => ({ job, on });

describe("chain rules", () => {
  it("finds a loop back to the job, direct or through others, and names the path", () => {
    const graph: Record<string, ChainRule[]> = { b: [rule("c")], c: [rule("a", ["failed"])], d: [] };
    expect(findChainLoop("a", [rule("a")], (id) => graph[id])).toEqual(["a", "a"]);
    expect(findChainLoop("a", [rule("d"), rule("b")], (id) => graph[id])).toEqual(["a", "b", "c", "a"]);
    expect(findChainLoop("a", [rule("d")], (id) => graph[id])).toBeNull();
  });

  it("a cycle among other jobs is not this job's loop (and does not hang the search)", () => {
    const graph: Record<string, ChainRule[]> = { b: [rule("c")], c: [rule("b")] };
    expect(findChainLoop("a", [rule("b")], (id) => graph[id])).toBeNull();
  });

  it("targets by status; a cancelled run starts nothing", () => {
    const then = [rule("x"), rule("y", ["failed"]), rule("z", ["succeeded", "failed"]), rule("x")];
    expect(chainTargets(then, "succeeded")).toEqual(["x", "z"]);
    expect(chainTargets(then, "failed")).toEqual(["y", "z"]);
    expect(chainTargets(then, "cancelled")).toEqual([]);
  });
});
