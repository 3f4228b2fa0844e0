import { z } from "zod";

/**
 * In the compiled Node (Bun), zod builds its object schemas without their eval'd fast parsers.
 * zod 4 compiles one `new Function` parser per object schema on its first parse; the Node parses a
 * few small frames a minute, so the fast path buys nothing measurable, while the generated source
 * and machine code stay resident: ~0.7 MiB of the idle Node's RSS (bench/node-binary, same run).
 * Under Node.js (tests, the bench's simulated Nodes beside an in-process Core) it changes nothing,
 * so the Core's zod keeps its fast path. Imported first by main.ts: zod reads the setting when a
 * schema is built, and protocol's schemas are built when protocol loads.
 */
export function useJitlessZod(
  runtime: { readonly bun?: string | undefined } = process.versions as { bun?: string },
): boolean {
  if (runtime.bun === undefined) return false;
  z.config({ jitless: true });
  return true;
}

useJitlessZod();
