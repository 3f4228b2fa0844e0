import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InMemoryTransport } from "@fabricore/protocol";
import type { InjectOptions } from "fastify";
import pino from "pino";
import { RecordingLlmClient } from "../agent/testing/recording-llm-client.ts";
import { type Core, createCore } from "../core.ts";
import type { Role } from "../database/schema.ts";
import { loadCoreEnv } from "../env.ts";
import type { LlmClient, ProviderConfig } from "../llm/index.ts";
import { redactingDestination, SecretRedactor } from "../secrets/redactor.ts";
import { OpenApiResponseChecker } from "./openapi-responses.ts";
import { createTestDatabase, postgresUnderTest } from "./postgres-database.ts";
import { createTestNode, type TestNode, waitFor } from "./test-node.ts";

export const TEST_ADMIN_PASSWORD = "test-admin-password";

export interface TestCore {
  core: Core;
  dataDir: string;
  /** Every log line as written (after redaction), like the Core's stdout. */
  logLines: string[];
  /** Requests in process (Fastify inject): no socket. */
  api(
    token: string | undefined,
    method: InjectOptions["method"],
    url: string,
    body?: unknown,
    headers?: Record<string, string>,
    // biome-ignore lint/suspicious/noExplicitAny: tests read response fields directly and assert each one
  ): Promise<{ status: number; body: any; headers: Record<string, unknown> }>;
  login(username?: string, password?: string): Promise<string>;
  /** A user with this role and a session token for it. */
  userToken(role: Role, username?: string): Promise<string>;
  /** Enrolls a Node and connects the real Node program to the hub over an in-memory pair. */
  connectNode(
    name: string,
    labels?: Record<string, string>,
    nodeOptions?: Parameters<typeof createTestNode>[1],
  ): Promise<{ id: string; node: TestNode }>;
  close(): Promise<void>;
}

/**
 * A whole Core in this process (createCore over a temp data dir, SQLite), for API tests with
 * Fastify's inject. The model is scripted (`llm`); Nodes are the real Node program on in-memory
 * transports. The run queue is started; the HTTP port is not opened unless `listen` is called.
 */
export async function startTestCore(
  options: {
    env?: Record<string, string>;
    llm?: (provider: ProviderConfig) => LlmClient;
    dataDir?: string;
    approvalPollMs?: number;
  } = {},
): Promise<TestCore> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "fabricore-test-core-"));
  // The vitest `postgres` project runs these tests again with each test Core on its own database.
  const adminUrl = postgresUnderTest();
  const database = adminUrl ? await createTestDatabase(adminUrl, "api") : undefined;
  const env = loadCoreEnv({
    ...(database && { FABRICORE_DATABASE_URL: database.url }),
    FABRICORE_DATA_DIR: dataDir,
    FABRICORE_ADMIN_PASSWORD: TEST_ADMIN_PASSWORD,
    FABRICORE_LOG_LEVEL: "info",
    FABRICORE_UI_DIR: join(dataDir, "no-ui"),
    FABRICORE_PORT: "0",
    ...options.env,
  });
  const logLines: string[] = [];
  const redactor = new SecretRedactor();
  const logger = pino(
    { level: env.FABRICORE_LOG_LEVEL },
    redactingDestination(redactor, { write: (line: string) => logLines.push(line) }),
  );
  const core = await createCore(env, {
    logger,
    redactor,
    llmFactory: options.llm ?? (() => new RecordingLlmClient([{ text: "done" }])),
    approvalPollMs: options.approvalPollMs ?? 50,
  });
  core.ctx.queue.start();
  core.ctx.deliveryWorker.start();
  const nodes: TestNode[] = [];
  let users = 0;

  // Every answer of `api` is checked against the served OpenAPI document (issue 23).
  let checker: OpenApiResponseChecker | undefined;
  const documented = async (
    method: string,
    url: string,
    res: { statusCode: number; headers: Record<string, unknown> },
    body: unknown,
  ) => {
    if (!checker) {
      const doc = await core.app.inject({ method: "GET", url: "/api/openapi.json" });
      checker = new OpenApiResponseChecker(JSON.parse(doc.body));
    }
    const problem = checker.check(method, url, res.statusCode, res.headers["content-type"] as string | undefined, body);
    if (problem) throw new Error(`OpenAPI: ${problem}\nbody: ${JSON.stringify(body).slice(0, 2000)}`);
  };

  const api: TestCore["api"] = async (token, method, url, body, headers = {}) => {
    const res = await core.app.inject({
      method,
      url,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      ...(body !== undefined ? { payload: typeof body === "string" ? body : JSON.stringify(body) } : {}),
    });
    let parsed: unknown = res.body;
    try {
      parsed = JSON.parse(res.body);
    } catch {}
    await documented(String(method ?? "GET"), url, res, parsed);
    // biome-ignore lint/suspicious/noExplicitAny: see TestCore.api
    return { status: res.statusCode, body: parsed as any, headers: res.headers };
  };

  const login = async (username = "admin", password = TEST_ADMIN_PASSWORD) => {
    const res = await api(undefined, "POST", "/api/auth/login", { username, password });
    if (res.status !== 200) throw new Error(`login ${username} → ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.token as string;
  };

  return {
    core,
    dataDir,
    logLines,
    api,
    login,
    async userToken(role, username = `${role}${++users}`) {
      const password = `${username}-password-123`;
      await core.ctx.accounts.createUser(username, password, role);
      return login(username, password);
    },
    async connectNode(name, labels = {}, nodeOptions = {}) {
      const enrolled = await core.ctx.fleet.enroll(name, labels);
      const hub = core.hub;
      const node = createTestNode(async () => {
        const [coreSide, nodeSide] = InMemoryTransport.createLinkedPair();
        hub.accept(coreSide, { nodeId: enrolled.id, name });
        return nodeSide;
      }, nodeOptions);
      node.manager.start();
      nodes.push(node);
      await waitFor(() => hub.isOnline(enrolled.id), 5_000, `node ${name} online`);
      return { id: enrolled.id, node };
    },
    async close() {
      for (const node of nodes) await node.manager.stop();
      await core.close();
      await database?.drop();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
