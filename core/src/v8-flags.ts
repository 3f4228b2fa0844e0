/**
 * The V8 flags the Core is started with, everywhere it is started: `make run-core`, the Dockerfile,
 * scripts/dev-run.ts, the e2e harness and the benchmarks' Core host. v8-flags.test.ts keeps the
 * Makefile and the Dockerfile, which cannot import this file, in step with it.
 *
 * --max-semi-space-size=16 caps V8's young generation at 2 × 16 MiB. V8 sizes it from the machine's
 * memory (64 MiB semi-spaces on a 24 GiB host) and grows it under allocation bursts such as a fleet
 * reconnecting; it then stays committed. At 10,000 Nodes that slack was most of the Core's memory
 * per Node (bench/fleet.ts: 15.8 KiB per Node against 6.5 KiB for bare `ws`, with ~6 KiB of it live);
 * 16 MiB is the size V8 used to default to, and the step/throughput benchmarks did not slow down.
 */
export const CORE_V8_FLAGS: readonly string[] = ["--max-semi-space-size=16"];
