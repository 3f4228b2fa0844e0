import { createHash } from "node:crypto";
import { mcpServerOf } from "@fabricore/protocol";
import type { AgentTool } from "./types.ts";

/** OpenAI and Anthropic both accept tool names of 1–64 of these characters. */
export const MAX_TOOL_NAME_LENGTH = 64;
export const TOOL_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;
const SEPARATOR = "__";
const HASH_LENGTH = 6;

export type ToolToName = Omit<AgentTool, "modelName">;

/**
 * Names every tool of a run for the model, and maps those names back exactly.
 * - one Node: the tool's own name (`read_file`); an MCP tool whose name another source of the same
 *   Node also uses gets its server in front (`filesystem__read_file`);
 * - several Nodes: the Node in front (`web1__read_file`), and for MCP tools the server too
 *   (`web1__filesystem__read_file`), so the model can tell where each call will run;
 * - every part is reduced to `[a-zA-Z0-9_-]` (accents dropped, other characters become `_`);
 * - a name that is too long, or that still collides, gets a short hash of the tool's identity
 *   (Node id, source, name) as suffix, so it is stable from run to run; when several tools
 *   collide on one name, every one of them does (none keeps the plain name).
 */
export function nameToolsForModel(
  tools: readonly ToolToName[],
  options: {
    /** `always`: the Node in front even with one Node (the MCP endpoint, whose fleet changes while
     * a client holds the list, so a name must not change when a second Node comes online). */
    nodePrefix?: "auto" | "always";
  } = {},
): {
  tools: AgentTool[];
  byModelName: Map<string, AgentTool>;
} {
  const multiNode = options.nodePrefix === "always" || new Set(tools.map((t) => t.nodeId)).size > 1;
  // Tool names used by more than one source on the same Node.
  const sourcesByNodeAndName = new Map<string, Set<string>>();
  for (const t of tools) {
    const key = `${t.nodeId}\u0000${t.name}`;
    const set = sourcesByNodeAndName.get(key) ?? new Set<string>();
    set.add(t.source);
    sourcesByNodeAndName.set(key, set);
  }

  const planned = tools.map((t) => {
    const server = mcpServerOf(t.source);
    const ambiguous = (sourcesByNodeAndName.get(`${t.nodeId}\u0000${t.name}`)?.size ?? 0) > 1;
    const prefixes: string[] = [];
    if (multiNode) prefixes.push(sanitizePart(t.nodeName) || `node${identityHash(t.nodeId)}`);
    if (server !== undefined && (multiNode || ambiguous)) prefixes.push(sanitizePart(server) || "mcp");
    const tool = sanitizePart(t.name) || "tool";
    return { t, prefixes, tool, name: join(prefixes, tool, MAX_TOOL_NAME_LENGTH) };
  });
  // A plain name that two tools want belongs to neither (issue 21.9: Nodes `dup.x` and `dup_x`
  // both became `dup_x__…`, and the first one listed took the name): every one of them gets its
  // hash, so a model that guesses the plain name is told it does not exist rather than routed.
  const wanted = new Map<string, number>();
  for (const p of planned) if (p.name !== undefined) wanted.set(p.name, (wanted.get(p.name) ?? 0) + 1);

  const named: AgentTool[] = [];
  const byModelName = new Map<string, AgentTool>();
  for (const { t, prefixes, tool, name: plain } of planned) {
    let name = plain;
    if (name === undefined || (wanted.get(name) ?? 0) > 1 || byModelName.has(name)) {
      const hash = identityHash(`${t.nodeId}\u0000${t.source}\u0000${t.name}`);
      name = `${join(prefixes, tool, MAX_TOOL_NAME_LENGTH - HASH_LENGTH - 1) ?? tool.slice(0, MAX_TOOL_NAME_LENGTH - HASH_LENGTH - 1)}_${hash}`;
      // Two identities with the same 6-character hash and the same shortened name: vanishingly
      // rare, but the map must stay exact, so count up.
      for (let n = 2; byModelName.has(name); n++)
        name = `${name.slice(0, MAX_TOOL_NAME_LENGTH - String(n).length)}${n}`;
    }
    const agentTool: AgentTool = { ...t, modelName: name };
    named.push(agentTool);
    byModelName.set(name, agentTool);
  }
  return { tools: named, byModelName };
}

/** `[a-zA-Z0-9_-]` only: accents stripped (é → e), anything else becomes `_`, and runs of `_`
 * collapse so a part never contains the `__` separator. */
export function sanitizePart(text: string): string {
  return text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^a-zA-Z0-9_-]/g, "_")
    .replace(/_+/g, "_")
    .replace(/^[_-]+|[_-]+$/g, "");
}

/** The parts joined with `__` within `max` characters, shortening the prefixes before the tool's
 * own name (the part the model reasons about); undefined when that does not fit. */
function join(prefixes: string[], tool: string, max: number): string | undefined {
  const full = [...prefixes, tool].join(SEPARATOR);
  if (full.length <= max) return full;
  if (tool.length >= max - (prefixes.length ? 3 : 0)) return undefined;
  const room = max - tool.length - SEPARATOR.length;
  const prefix = prefixes
    .join(SEPARATOR)
    .slice(0, room)
    .replace(/[_-]+$/, "");
  return prefix ? `${prefix}${SEPARATOR}${tool}` : tool;
}

function identityHash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, HASH_LENGTH);
}
