import { describe, expect, it } from "vitest";
import { hashPassword, verifyPassword } from "./passwords.ts";

describe("scrypt passwords", () => {
  it("verifies the right password and rejects a wrong one", async () => {
    const stored = await hashPassword("correct horse battery staple");
    expect(stored).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(await verifyPassword("correct horse battery staple", stored)).toBe(true);
    expect(await verifyPassword("correct horse battery stapl", stored)).toBe(false);
    expect(await verifyPassword("", stored)).toBe(false);
  });

  it("salts: the same password hashes differently each time", async () => {
    const [a, b] = await Promise.all([hashPassword("pw"), hashPassword("pw")]);
    expect(a).not.toBe(b);
    expect(await verifyPassword("pw", a)).toBe(true);
    expect(await verifyPassword("pw", b)).toBe(true);
  });

  it("reads the parameters from the stored string, so older costs still verify", async () => {
    const stored = await hashPassword("pw");
    // Re-hash with other parameters by hand through the same format: N=1024, r=8, p=1.
    const { scryptSync } = await import("node:crypto");
    const salt = Buffer.from("0123456789abcdef");
    const hash = scryptSync("pw", salt, 32, { N: 1024, r: 8, p: 1 });
    const older = `scrypt$1024$8$1$${salt.toString("base64")}$${hash.toString("base64")}`;
    expect(await verifyPassword("pw", older)).toBe(true);
    expect(await verifyPassword("nope", older)).toBe(false);
    expect(stored).not.toBe(older);
  });

  it("returns false for malformed or hostile stored strings", async () => {
    for (const bad of [
      "",
      "plain",
      "scrypt$16384$8$1$$",
      "bcrypt$x$y$z$a$b",
      "scrypt$3$8$1$c2FsdA==$aGFzaA==",
      "scrypt$1073741824$8$1$c2FsdA==$aGFzaA==",
    ]) {
      expect(await verifyPassword("pw", bad)).toBe(false);
    }
  });
});
