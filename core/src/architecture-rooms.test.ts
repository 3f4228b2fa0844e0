import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/*
 * docs/ARCHITECTURE.md's room table is how a newcomer finds where a thing lives; a folder added
 * without a row (or a row left for a folder that moved) makes it quietly wrong, so it is checked.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SOURCE_ROOTS = ["core/src", "node/src", "protocol/src", "cli/src", "core/ui/src"];
/** Conventions rather than rooms: test fixtures beside the code they feed. */
const NOT_ROOMS = new Set(["__fixtures__", "node_modules"]);

/** The folders named (in backticks) in the first column of the "## Rooms" table, without trailing "/". */
function roomsInTable(markdown: string): string[] {
  const section = markdown.split(/^## /m).find((part) => part.startsWith("Rooms"));
  if (!section) throw new Error('docs/ARCHITECTURE.md has no "## Rooms" section');
  const rooms: string[] = [];
  for (const line of section.split("\n")) {
    if (!line.startsWith("| `")) continue;
    const cell = line.split("|")[1] ?? "";
    for (const match of cell.matchAll(/`([^`]+)`/g)) rooms.push(match[1]!.replace(/\/$/, ""));
  }
  return rooms;
}

function foldersUnder(root: string): string[] {
  return readdirSync(join(ROOT, root), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !NOT_ROOMS.has(entry.name))
    .map((entry) => `${root}/${entry.name}`);
}

describe("docs/ARCHITECTURE.md rooms", () => {
  const rooms = roomsInTable(readFileSync(join(ROOT, "docs/ARCHITECTURE.md"), "utf8"));

  it("names every folder directly under the source roots", () => {
    const folders = SOURCE_ROOTS.flatMap(foldersUnder);
    expect(folders.length).toBeGreaterThan(20);
    expect(folders.filter((folder) => !rooms.includes(folder))).toEqual([]);
  });

  it("names no folder that does not exist", () => {
    expect(rooms.length).toBeGreaterThan(20);
    expect(rooms.filter((room) => !existsSync(join(ROOT, room)))).toEqual([]);
  });

  it("reads the first column only, and a missing room is seen", () => {
    const table = "## Rooms\n| folder | job |\n| --- | --- |\n| `a/`, `b/` | uses `c/` |\n## Next\n| `d/` | x |\n";
    expect(roomsInTable(table)).toEqual(["a", "b"]);
  });
});
