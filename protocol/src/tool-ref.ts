/* Tool references: the one place that knows how a tool is named outside its Node.
 *
 * A tool is identified on its Node by its source (`builtin`, or `mcp:<server>`) and its name.
 * Job allowlists and approval policies name tools by a reference: the tool's own name, its
 * qualified `<source>/<name>`, or (allowlists only) a whole source such as `mcp:github`. The Core,
 * the Node and the UI all build and read references through these functions. */

export const BUILTIN_SOURCE = "builtin";
const MCP_PREFIX = "mcp:";

/** The identity of a tool on its Node. */
export interface ToolIdentity {
  source: string;
  name: string;
}

/** The source of the tools of MCP server `server`. */
export function mcpSource(server: string): string {
  return `${MCP_PREFIX}${server}`;
}

/** The MCP server a source names, or undefined for a built-in (or unknown) source. */
export function mcpServerOf(source: string): string | undefined {
  return source.startsWith(MCP_PREFIX) ? source.slice(MCP_PREFIX.length) : undefined;
}

/** `<source>/<name>`: names one tool exactly, whatever else shares its name. */
export function qualifiedToolRef(tool: ToolIdentity): string {
  return `${tool.source}/${tool.name}`;
}

/** The reference the UI offers and the audit log records: a built-in by its own name (built-in
 * names are unique on a Node), an MCP tool qualified, so a same-named built-in is never meant. */
export function toolRef(tool: ToolIdentity): string {
  return tool.source === BUILTIN_SOURCE ? tool.name : qualifiedToolRef(tool);
}

/** A short label for people: `<server>/<name>` for an MCP tool, the name for a built-in. */
export function toolLabel(tool: ToolIdentity): string {
  const server = mcpServerOf(tool.source);
  return server === undefined ? tool.name : `${server}/${tool.name}`;
}

export type ParsedToolRef =
  | { kind: "name"; name: string }
  | { kind: "qualified"; source: string; name: string }
  | { kind: "source"; source: string };

const SOURCE_BODY = "builtin|mcp:[a-zA-Z0-9_.-]{1,64}";
/** A whole tool source (ToolDescriptor's `source`). */
export const TOOL_SOURCE_PATTERN = new RegExp(`^(${SOURCE_BODY})$`);
const QUALIFIED = new RegExp(`^(${SOURCE_BODY})/(.+)$`, "s");

/** What a reference names. A source never contains `/`, so the first `/` after a valid source
 * splits it from the tool name; anything else is a bare tool name. */
export function parseToolRef(ref: string): ParsedToolRef {
  if (TOOL_SOURCE_PATTERN.test(ref)) return { kind: "source", source: ref };
  const qualified = QUALIFIED.exec(ref);
  if (qualified?.[1] && qualified[2]) return { kind: "qualified", source: qualified[1], name: qualified[2] };
  return { kind: "name", name: ref };
}

/** Whether reference `ref` names `tool`: its own name or `<source>/<name>`; with `wholeSource`
 * (allowlists) also its source. A bare name that happens to equal a source still matches a tool
 * of that name. */
export function refMatches(ref: string, tool: ToolIdentity, opts: { wholeSource?: boolean } = {}): boolean {
  if (ref === tool.name) return true;
  const parsed = parseToolRef(ref);
  if (parsed.kind === "qualified") return parsed.source === tool.source && parsed.name === tool.name;
  return parsed.kind === "source" && opts.wholeSource === true && parsed.source === tool.source;
}
