import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ToolResult } from "@fabricore/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { READ_FILE_HARD_MAX_BYTES, readFileTool, rootsContaining } from "./read-file.ts";

const text = (result: ToolResult) => result.content.map((block) => ("text" in block ? block.text : "")).join("\n");

describe("read_file", () => {
  let base: string;
  let root: string;
  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), "fabricore-read-"));
    root = join(base, "root");
    await mkdir(join(root, "sub"), { recursive: true });
    await writeFile(join(root, "sub", "hello.txt"), "hello world\n");
    await writeFile(join(base, "secret.txt"), "top secret\n");
    await symlink(join(base, "secret.txt"), join(root, "escape-link"));
    await symlink(join(root, "sub", "hello.txt"), join(root, "inside-link"));
    await symlink(base, join(root, "dir-link"));
    await writeFile(join(root, "big.txt"), "a".repeat(10_000));
    await writeFile(join(root, "binary.bin"), Buffer.from([1, 2, 0, 3]));
  });
  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it("reads a file below a read root", async () => {
    const result = await readFileTool({ path: join(root, "sub", "hello.txt") }, [root]);
    expect(result.isError).toBe(false);
    expect(text(result)).toBe("hello world\n");
    expect(result.structuredContent).toMatchObject({ truncated: false, sizeBytes: 12 });
  });

  it("refuses when no read root is configured, naming the flag", async () => {
    const result = await readFileTool({ path: "/etc/hostname" }, []);
    expect(result.isError).toBe(true);
    expect(text(result)).toContain("--read-root");
  });

  it("refuses a .. escape", async () => {
    const result = await readFileTool({ path: `${root}/sub/../../secret.txt` }, [root]);
    expect(result.isError).toBe(true);
    expect(text(result)).toContain("outside");
    expect(text(result)).not.toContain("top secret");
  });

  it("refuses a symlink pointing outside, and a path through a symlinked directory", async () => {
    for (const path of [join(root, "escape-link"), join(root, "dir-link", "secret.txt")]) {
      const result = await readFileTool({ path }, [root]);
      expect(result.isError).toBe(true);
      expect(text(result)).toContain("outside");
    }
  });

  it("follows a symlink that stays inside", async () => {
    const result = await readFileTool({ path: join(root, "inside-link") }, [root]);
    expect(text(result)).toBe("hello world\n");
  });

  it.runIf(process.platform === "linux")("refuses /proc/self/root escapes", async () => {
    const result = await readFileTool({ path: `/proc/self/root${base}/secret.txt` }, [root]);
    expect(result.isError).toBe(true);
    expect(text(result)).not.toContain("top secret");
    // And a read root does not make /proc/self/root a way around itself.
    const viaRoot = await readFileTool({ path: `${root}/../secret.txt` }, ["/proc/self/root" + root]);
    expect(viaRoot.isError).toBe(true);
  });

  it("refuses a prefix sibling (root-evil is not below root)", async () => {
    await mkdir(`${root}-evil`, { recursive: true });
    await writeFile(`${root}-evil/x.txt`, "x");
    const result = await readFileTool({ path: `${root}-evil/x.txt` }, [root]);
    expect(result.isError).toBe(true);
  });

  it("refuses directories and non-regular files", async () => {
    const dir = await readFileTool({ path: join(root, "sub") }, [root]);
    expect(dir.isError).toBe(true);
    expect(text(dir)).toContain("directory");
    const dev = await readFileTool({ path: "/dev/zero" }, ["/dev"]);
    expect(dev.isError).toBe(true);
    expect(text(dev)).toContain("regular");
  });

  it("caps the size with a truncation note", async () => {
    const result = await readFileTool({ path: join(root, "big.txt"), maxBytes: 100 }, [root]);
    expect(result.isError).toBe(false);
    expect(result.content[0]).toEqual({ type: "text", text: "a".repeat(100) });
    expect(text(result)).toContain("truncated");
    expect(result.structuredContent).toMatchObject({ truncated: true, bytesReturned: 100, sizeBytes: 10_000 });
  });

  it("never returns more than the hard cap whatever maxBytes says", () => {
    expect(READ_FILE_HARD_MAX_BYTES).toBeLessThan(4 * 1024 * 1024);
  });

  it("refuses binary files", async () => {
    const result = await readFileTool({ path: join(root, "binary.bin") }, [root]);
    expect(result.isError).toBe(true);
    expect(text(result)).toContain("binary");
  });

  it("answers bad arguments with an error result, not a throw", async () => {
    const result = await readFileTool({ path: 42, extra: true }, [root]);
    expect(result.isError).toBe(true);
    expect(text(result)).toContain("invalid arguments for read_file");
    const relative = await readFileTool({ path: "sub/hello.txt" }, [root]);
    expect(text(relative)).toContain("absolute");
  });

  it("reports a missing file plainly", async () => {
    const result = await readFileTool({ path: join(root, "nope.txt") }, [root]);
    expect(result.isError).toBe(true);
    expect(text(result)).toContain("no such file");
  });

  describe("the Node's own data dir (issue 15.2)", () => {
    let dataDir: string;
    beforeAll(async () => {
      dataDir = join(root, "node-data");
      await mkdir(dataDir, { recursive: true });
      await writeFile(join(dataDir, "node-key.pem"), "-----BEGIN PRIVATE KEY-----\nMC4CAQ\n");
      await writeFile(join(dataDir, "identity.json"), '{"nodeId":"n1"}');
      await symlink(join(dataDir, "node-key.pem"), join(root, "key-link"));
      await symlink(dataDir, join(root, "data-link"));
    });

    it("never serves node-key.pem or identity.json, however the path is spelled", async () => {
      const paths = [
        join(dataDir, "node-key.pem"),
        join(dataDir, "identity.json"),
        `${root}/sub/../node-data/node-key.pem`,
        join(root, "key-link"),
        join(root, "data-link", "identity.json"),
      ];
      for (const path of paths) {
        const result = await readFileTool({ path }, [root], { denied: [dataDir] });
        expect(result.isError, path).toBe(true);
        expect(text(result)).toContain("never serves");
        expect(text(result)).not.toContain("PRIVATE KEY");
        expect(result.structuredContent).toEqual({ code: "not_allowed" });
      }
      // The rest of the root is still readable.
      const ok = await readFileTool({ path: join(root, "sub", "hello.txt") }, [root], { denied: [dataDir] });
      expect(text(ok)).toBe("hello world\n");
    });

    it("refuses even when the data dir is the read root itself, or below a symlinked root", async () => {
      const itself = await readFileTool({ path: join(dataDir, "identity.json") }, [dataDir], { denied: [dataDir] });
      expect(text(itself)).toContain("never serves");
      const viaLink = await readFileTool({ path: join(dataDir, "identity.json") }, [root], {
        denied: [join(root, "data-link")],
      });
      expect(text(viaLink)).toContain("never serves");
    });

    it("never serves the Node's own /proc entry (its environment holds the token)", async () => {
      for (const path of ["/proc/self/environ", `/proc/${process.pid}/environ`, "/proc/self/cmdline"]) {
        const result = await readFileTool({ path }, ["/proc"]);
        expect(result.isError, path).toBe(true);
        expect(text(result)).toContain("never serves");
      }
      // Other processes' entries below an explicit /proc root stay readable as configured.
      const other = await readFileTool({ path: "/proc/1/stat" }, ["/proc"]);
      expect(other.isError).toBe(false);
    });

    it("names the roots that contain the data dir (the start-up warning)", async () => {
      expect(await rootsContaining([root, join(root, "sub")], dataDir)).toEqual([root]);
      expect(await rootsContaining([join(root, "data-link")], dataDir)).toEqual([join(root, "data-link")]);
      expect(await rootsContaining([join(root, "sub")], dataDir)).toEqual([]);
    });
  });
});
