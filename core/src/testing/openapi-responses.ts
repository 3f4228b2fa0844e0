import { Ajv, type ValidateFunction } from "ajv";

/**
 * Test-only (issue 23): checks live answers against the served OpenAPI document. startTestCore
 * runs every answer of `t.api` through it, so each API test also proves the document right: a
 * status the document does not list for the route, or a body its schema refuses, fails the test.
 */

interface Operation {
  responses?: Record<string, { content?: Record<string, { schema?: object }> }>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components?: object;
}

export class OpenApiResponseChecker {
  readonly #document: Document;
  readonly #ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
  readonly #compiled = new Map<string, ValidateFunction>();
  readonly #templates: Array<{ template: string; regex: RegExp }>;

  constructor(document: Document) {
    this.#document = document;
    // Fewest parameters first, as the router matches: /api/nodes/rollouts before /api/nodes/{id}.
    this.#templates = Object.keys(document.paths)
      .map((template) => ({
        template,
        regex: new RegExp(`^${template.replace(/[.+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+")}$`),
        params: template.split("{").length,
      }))
      .sort((a, b) => a.params - b.params);
  }

  /** The problem with this answer, or undefined when the document describes it. Paths the
   * document does not know (the UI, a 404 for a made-up path) are not its business. */
  check(
    method: string,
    url: string,
    status: number,
    contentType: string | undefined,
    body: unknown,
  ): string | undefined {
    const path = url.split("?")[0] ?? "";
    const template = this.#templates.find((t) => t.regex.test(path))?.template;
    const operation = template ? this.#document.paths[template]?.[method.toLowerCase()] : undefined;
    if (!template || !operation) return undefined;
    const where = `${method} ${template} → ${status}`;
    const response = operation.responses?.[String(status)];
    if (!response) return `${where}: the document lists no ${status} for this operation`;
    const mediaType = (contentType ?? "").split(";")[0]?.trim() ?? "";
    const content = response.content ?? {};
    if (Object.keys(content).length === 0) return undefined;
    const media = content[mediaType];
    if (!media)
      return `${where}: answered ${mediaType || "no content type"}, documented ${Object.keys(content).join(", ")}`;
    if (mediaType !== "application/json" || !media.schema) return undefined;
    const key = `${template} ${method} ${status}`;
    let validate = this.#compiled.get(key);
    if (!validate) {
      // Refs in the document are "#/components/…": the compiled schema carries them at its root.
      validate = this.#ajv.compile({ ...media.schema, components: this.#document.components });
      this.#compiled.set(key, validate);
    }
    if (validate(body)) return undefined;
    const problems = (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`).join("; ");
    return `${where}: the body does not match the document: ${problems}`;
  }
}
