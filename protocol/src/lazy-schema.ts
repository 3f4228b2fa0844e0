/**
 * Schemas built on first use in the compiled Node. zod builds every schema when its module loads, and
 * the Node imports all of protocol at start; the schemas it never touches while idle (tool calls and
 * results, MCP restart and logs, update offers, the Core-only enroll shapes) held ~0.9 MiB of its idle
 * RSS (bench/node-binary). Under Bun a top-level schema is a Proxy that builds the real one on its first
 * property access and then forwards everything to it: same export, same type, same parse results.
 *
 * Elsewhere (the Core and the tests on Node.js, the UI in the browser) the schema is built at once, as
 * before: zod keys its metadata registry and toJSONSchema's bookkeeping by object identity, and the Core
 * gains nothing from laziness, so it keeps the real objects.
 */
const bunRuntime = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";

export function lazySchema<T extends object>(build: () => T): T {
  return bunRuntime ? lazyProxy(build) : build();
}

/**
 * The Proxy itself (exported for its test, which runs on Node.js). zod's JSON Schema code keys what it
 * has seen by object identity, and the real schema's own methods pass the real object, not the Proxy.
 * That is harmless for objects, unions and scalars, but the processors of wrappers (optional, default,
 * nullable, a preprocess pipe...) look themselves up and fail, and a `.describe()`/`.meta()` entry is
 * registered on the real object. So only schemas whose outermost type is not a wrapper and carries no
 * description are wrapped; lazy-schema.test.ts compares every schema's JSON Schema with the eager build.
 */
export function lazyProxy<T extends object>(build: () => T): T {
  let built: T | undefined;
  const real = (): T => {
    built ??= build();
    return built;
  };
  return new Proxy({} as T, {
    get: (_target, key) => Reflect.get(real(), key),
    set: (_target, key, value) => Reflect.set(real(), key, value),
    has: (_target, key) => Reflect.has(real(), key),
    ownKeys: () => Reflect.ownKeys(real()),
    getOwnPropertyDescriptor: (_target, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(real(), key);
      // A Proxy may not report a non-configurable property its (empty) target lacks.
      if (descriptor) descriptor.configurable = true;
      return descriptor;
    },
    getPrototypeOf: () => Reflect.getPrototypeOf(real()),
    defineProperty: (_target, key, descriptor) => Reflect.defineProperty(real(), key, descriptor),
    deleteProperty: (_target, key) => Reflect.deleteProperty(real(), key),
  });
}
