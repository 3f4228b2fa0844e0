import { ExecCommandResult, SystemStats } from "@fabricore/protocol";
import { Anchor, Badge, Box, Code, Group, Image, Spoiler, Stack, Text } from "@mantine/core";
import type { ReactNode } from "react";
import type { ToolStep } from "../api/types.ts";
import { formatBytes, toDisplayText } from "../lib/format.ts";
import { NodeStats } from "./node-stats.tsx";

/* Issue 22.3: a tool's result shown as what it is — a command's output as a terminal, a file as a
 * file, system stats as the Node page's table, MCP content blocks as text, images and resources —
 * not as one JSON string with \n in it. Each view parses the stored result with the protocol's
 * schema; whatever does not parse falls back to the plain text view. */

type Block = { type: string; text?: unknown; data?: unknown; mimeType?: unknown; resource?: unknown; uri?: unknown };

function structured(result: unknown): unknown {
  return typeof result === "object" && result !== null
    ? (result as { structuredContent?: unknown }).structuredContent
    : undefined;
}

function blocks(result: unknown): Block[] | null {
  const content = typeof result === "object" && result !== null ? (result as { content?: unknown }).content : undefined;
  if (!Array.isArray(content)) return null;
  return content.filter(
    (b): b is Block => typeof b === "object" && b !== null && typeof (b as Block).type === "string",
  );
}

function Terminal({ text, label, tone }: { text: string; label: string; tone?: "error" }) {
  return (
    <Box>
      <Text size="xs" c={tone === "error" ? "red" : "dimmed"} fw={600} mb={2}>
        {label}
      </Text>
      <Spoiler maxHeight={260} showLabel="Show all" hideLabel="Fold">
        <Code
          block
          className="fc-pre fc-terminal"
          data-stream={label}
          c={tone === "error" ? "red.3" : undefined}
          style={{ background: "#111418", color: tone === "error" ? undefined : "#d6dde6" }}
        >
          {text}
        </Code>
      </Spoiler>
    </Box>
  );
}

/** `exitCode` as a badge: green 0, red otherwise; a kill says how it ended. */
export function ExitBadge({ result }: { result: ExecCommandResult }) {
  const killed = result.timedOut ? "timed out" : result.signal ? `killed (${result.signal})` : null;
  const ok = result.exitCode === 0 && !killed;
  return (
    <Badge color={ok ? "green" : "red"} variant="filled" data-testid="exit-code">
      {killed ?? `exit ${result.exitCode ?? "?"}`}
    </Badge>
  );
}

export function execResult(step: ToolStep): ExecCommandResult | null {
  if (step.tool !== "exec_command") return null;
  const parsed = ExecCommandResult.safeParse(structured(step.result));
  return parsed.success ? parsed.data : null;
}

function ExecView({ result, command, note }: { result: ExecCommandResult; command: unknown; note: unknown }) {
  return (
    <Stack gap="xs" data-testid="exec-result">
      <Group gap="xs">
        <ExitBadge result={result} />
        {typeof command === "string" ? <Code style={{ wordBreak: "break-all" }}>$ {command}</Code> : null}
      </Group>
      {result.stdout ? <Terminal label="stdout" text={result.stdout} /> : null}
      {result.stderr ? <Terminal label="stderr" text={result.stderr} tone="error" /> : null}
      {!result.stdout && !result.stderr ? (
        <Text size="xs" c="dimmed">
          (no output)
        </Text>
      ) : null}
      {typeof note === "string" ? (
        <Text size="xs" c="dimmed">
          {note}
        </Text>
      ) : null}
    </Stack>
  );
}

function FileView({ step }: { step: ToolStep }) {
  const meta = structured(step.result) as
    | { path?: unknown; sizeBytes?: unknown; bytesReturned?: unknown; truncated?: unknown }
    | undefined;
  const list = blocks(step.result) ?? [];
  const text = typeof list[0]?.text === "string" ? list[0].text : "";
  const notes = list.slice(1).flatMap((b) => (typeof b.text === "string" ? [b.text] : []));
  const path = typeof meta?.path === "string" ? meta.path : String((step.arguments as { path?: unknown })?.path ?? "");
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return (
    <Box data-testid="file-result" style={{ border: "1px solid var(--mantine-color-default-border)", borderRadius: 6 }}>
      <Group gap="xs" px="sm" py={4} style={{ borderBottom: "1px solid var(--mantine-color-default-border)" }}>
        <Text size="xs" ff="monospace" fw={600}>
          {path}
        </Text>
        <Text size="xs" c="dimmed">
          {typeof meta?.sizeBytes === "number" ? formatBytes(meta.sizeBytes) : ""} · {lines.length} line
          {lines.length === 1 ? "" : "s"}
        </Text>
      </Group>
      <Spoiler maxHeight={260} showLabel="Show all" hideLabel="Fold" px="sm">
        <Box component="pre" m={0} py={6} style={{ fontSize: 12, overflowX: "auto" }}>
          {lines.map((line, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: a file's lines are positional
            <div key={i}>
              <Text span c="dimmed" style={{ userSelect: "none", display: "inline-block", minWidth: 36 }}>
                {i + 1}
              </Text>
              {line}
            </div>
          ))}
        </Box>
      </Spoiler>
      {notes.map((n) => (
        <Text key={n} size="xs" c="dimmed" px="sm" pb={4}>
          {n}
        </Text>
      ))}
    </Box>
  );
}

/** MCP content blocks: text (JSON pretty-printed), images inline, embedded resources and links. */
function ContentBlocks({ list, isError }: { list: Block[]; isError: boolean }) {
  return (
    <Stack gap="xs" data-testid="content-blocks">
      {list.map((block, i) => {
        const key = `${block.type}-${i}`;
        if (block.type === "text" && typeof block.text === "string")
          return (
            <Terminal
              key={key}
              label={isError ? "error" : "text"}
              text={pretty(block.text)}
              tone={isError ? "error" : undefined}
            />
          );
        if (block.type === "image" && typeof block.data === "string" && typeof block.mimeType === "string")
          return (
            <Image
              key={key}
              src={`data:${block.mimeType};base64,${block.data}`}
              alt={`image result (${block.mimeType})`}
              maw={480}
              radius="sm"
            />
          );
        if (block.type === "resource" && typeof block.resource === "object" && block.resource !== null) {
          const r = block.resource as { uri?: unknown; text?: unknown; mimeType?: unknown };
          return (
            <Box key={key}>
              <Text size="xs" c="dimmed" fw={600} mb={2}>
                resource {typeof r.uri === "string" ? r.uri : ""}{" "}
                {typeof r.mimeType === "string" ? `(${r.mimeType})` : ""}
              </Text>
              {typeof r.text === "string" ? <Terminal label="contents" text={r.text} /> : null}
            </Box>
          );
        }
        if (block.type === "resource_link" && typeof block.uri === "string")
          return (
            <Text key={key} size="sm">
              link:{" "}
              <Anchor href={block.uri} target="_blank" rel="noreferrer noopener">
                {block.uri}
              </Anchor>
            </Text>
          );
        return <Terminal key={key} label={block.type} text={toDisplayText(block)} />;
      })}
    </Stack>
  );
}

function pretty(text: string): string {
  const trimmed = text.trim();
  if (!(trimmed.startsWith("{") || trimmed.startsWith("["))) return text;
  try {
    return JSON.stringify(JSON.parse(trimmed), null, 2);
  } catch {
    return text;
  }
}

/** The result of one tool step, by kind; `fallback` when it has none of these shapes. */
export function ToolResultView({ step, fallback }: { step: ToolStep; fallback: ReactNode }) {
  const exec = execResult(step);
  if (exec) {
    const note = (structured(step.result) as { note?: unknown }).note;
    return <ExecView result={exec} command={(step.arguments as { command?: unknown })?.command} note={note} />;
  }
  if (step.tool === "system_stats" && !step.isError) {
    const stats = SystemStats.partial().safeParse(structured(step.result));
    if (stats.success && stats.data.hostname) return <NodeStats stats={stats.data} />;
  }
  if (step.tool === "read_file" && !step.isError && structured(step.result)) return <FileView step={step} />;
  const list = blocks(step.result);
  if (list && list.length > 0) return <ContentBlocks list={list} isError={step.isError} />;
  return fallback;
}

/** A command's output while it runs (issue 22.2), as the finished terminal view will show it. */
export function LiveOutput({ stdout, stderr }: { stdout?: string | undefined; stderr?: string | undefined }) {
  return (
    <Stack gap="xs" mt="xs" data-testid="live-output" aria-live="polite">
      {stdout ? <Terminal label="stdout" text={stdout} /> : null}
      {stderr ? <Terminal label="stderr" text={stderr} tone="error" /> : null}
    </Stack>
  );
}
