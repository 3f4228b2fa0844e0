import { Alert, Badge, Box, Button, Code, Collapse, Group, Paper, Spoiler, Stack, Text } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { IconAlertTriangle, IconChevronDown, IconChevronRight } from "@tabler/icons-react";
import type { LlmStep, ToolStep } from "../api/types.ts";
import { formatDuration, formatNumber, toDisplayText } from "../lib/format.ts";
import { ExitBadge, execResult, ToolResultView } from "./tool-result-view.tsx";

/** Tool results are MCP-shaped (`{content: [{type: "text", text}]}`) or plain values; show text
 * where there is text, pretty JSON otherwise. */
export function resultText(result: unknown): string {
  if (typeof result === "object" && result !== null && Array.isArray((result as { content?: unknown }).content)) {
    const blocks = (result as { content: unknown[] }).content;
    const parts = blocks.map((block) => {
      if (typeof block === "object" && block !== null) {
        const b = block as { type?: string; text?: unknown; mimeType?: unknown };
        if (b.type === "text" && typeof b.text === "string") return prettyIfJson(b.text);
        if (b.type === "image") return `[image ${typeof b.mimeType === "string" ? b.mimeType : ""}]`;
      }
      return toDisplayText(block);
    });
    const structured = (result as { structuredContent?: unknown }).structuredContent;
    if (parts.length === 0 && structured !== undefined) return toDisplayText(structured);
    return parts.join("\n");
  }
  return typeof result === "string" ? prettyIfJson(result) : toDisplayText(result);
}

function prettyIfJson(text: string): string {
  const trimmed = text.trim();
  if (!(trimmed.startsWith("{") || trimmed.startsWith("["))) return text;
  try {
    return JSON.stringify(JSON.parse(trimmed), null, 2);
  } catch {
    return text;
  }
}

function Folded({ text, label }: { text: string; label: string }) {
  if (!text) return null;
  return (
    <Box>
      <Text size="xs" c="dimmed" fw={600} mb={2}>
        {label}
      </Text>
      {/* Long outputs are folded so one large file does not bury the rest of the transcript. */}
      <Spoiler maxHeight={220} showLabel="Show all" hideLabel="Fold">
        <Code block className="fc-pre">
          {text}
        </Code>
      </Spoiler>
    </Box>
  );
}

/** " · 42.5 tok/s · 180 ms to first token", from what was measured. */
export function speedText(speed: LlmStep["speed"]): string {
  if (!speed) return "";
  const parts: string[] = [];
  if (speed.tokensPerSecond !== undefined) parts.push(`${speed.tokensPerSecond.toFixed(1)} tok/s`);
  if (speed.timeToFirstTokenMs !== undefined) parts.push(`${formatDuration(speed.timeToFirstTokenMs)} to first token`);
  return parts.map((p) => ` · ${p}`).join("");
}

/** `isFinalAnswer`: this turn's text is the run's answer, shown once above the transcript (issue 22.3). */
export function LlmStepView({ step, isFinalAnswer = false }: { step: LlmStep; isFinalAnswer?: boolean }) {
  const usage = step.usage;
  return (
    <Stack gap={6}>
      <Group gap="xs" wrap="wrap">
        <Text fw={600} size="sm">
          Model turn
        </Text>
        <Badge variant="light" color="indigo" tt="none">
          {step.provider} / {step.model}
        </Badge>
        <Text size="xs" c="dimmed">
          {formatDuration(step.durationMs)}
          {usage &&
            ` · ${formatNumber(usage.promptTokens)} prompt + ${formatNumber(usage.completionTokens)} completion tokens`}
          {step.loadMs !== undefined && ` · model loaded in ${formatDuration(step.loadMs)}`}
          {speedText(step.speed)}
        </Text>
      </Group>
      {step.removedToolOutputs ? (
        <Text size="xs" c="dimmed">
          {step.removedToolOutputs} older tool output{step.removedToolOutputs === 1 ? "" : "s"} replaced by a note to
          fit the model's context of {formatNumber(step.contextTokens ?? 0)} tokens
        </Text>
      ) : null}
      {step.warning && (
        <Alert color="yellow" variant="light" icon={<IconAlertTriangle size={16} />} p="xs">
          <Text size="sm">{step.warning}</Text>
        </Alert>
      )}
      {step.reasoning ? <Folded label="Reasoning" text={step.reasoning} /> : null}
      {step.text && isFinalAnswer ? (
        <Text size="xs" c="dimmed" data-testid="final-answer-note">
          Wrote the answer shown above.
        </Text>
      ) : null}
      {step.text && !isFinalAnswer && (
        <Paper withBorder p="sm" radius="sm">
          <Text size="sm" className="fc-pre">
            {step.text}
          </Text>
        </Paper>
      )}
      {step.toolCalls && step.toolCalls.length > 0 && (
        <Stack gap={4}>
          {step.toolCalls.map((call, index) => (
            <Group key={call.id ?? `${call.name}-${index}`} gap={6} wrap="nowrap" align="flex-start">
              <Text size="sm" c="dimmed" className="fc-nowrap">
                calls
              </Text>
              <Code>{call.name}</Code>
              <Text size="xs" ff="monospace" c="dimmed" lineClamp={2} style={{ wordBreak: "break-all" }}>
                {toDisplayText(call.arguments === undefined ? {} : call.arguments).replace(/\s+/g, " ")}
              </Text>
            </Group>
          ))}
        </Stack>
      )}
      {step.error && (
        <Alert color="red" variant="light" icon={<IconAlertTriangle size={16} />} p="xs" title="The model call failed">
          <Text size="sm" className="fc-pre">
            {step.error}
          </Text>
        </Alert>
      )}
    </Stack>
  );
}

export function ToolStepView({ step, nodeName }: { step: ToolStep; nodeName: string }) {
  const [opened, { toggle }] = useDisclosure(step.isError);
  const text = resultText(step.result);
  const exec = execResult(step);
  // Collapsed, a step shows the start of its result on one line (JSON squeezed, not just "{");
  // a command shows the start of its output instead of its JSON.
  const summary = exec ? exec.stdout || exec.stderr : text;
  const firstLine = summary.replace(/\s+/g, " ").trim().slice(0, 240);
  return (
    <Stack gap={6}>
      <Group gap="xs" wrap="wrap">
        <Button
          variant="subtle"
          size="compact-sm"
          onClick={toggle}
          aria-expanded={opened}
          leftSection={opened ? <IconChevronDown size={14} /> : <IconChevronRight size={14} />}
        >
          <Text fw={600} size="sm" ff="monospace">
            {step.tool}
          </Text>
        </Button>
        <Text size="sm" c="dimmed">
          on {nodeName}
        </Text>
        {exec ? (
          <ExitBadge result={exec} />
        ) : step.isError ? (
          <Badge color="red" variant="light">
            error
          </Badge>
        ) : (
          <Badge color="green" variant="light">
            ok
          </Badge>
        )}
        <Text size="xs" c="dimmed">
          {formatDuration(step.durationMs)}
        </Text>
      </Group>
      {!opened && firstLine && (
        <Text size="xs" ff="monospace" c={step.isError ? "red" : "dimmed"} lineClamp={1} pl="md">
          {firstLine}
        </Text>
      )}
      <Collapse expanded={opened}>
        <Stack gap="xs" pl="md">
          {/* A command's one argument is shown as its prompt line in the terminal view. */}
          {exec ? null : <Folded label="Arguments" text={toDisplayText(step.arguments ?? {})} />}
          {opened ? (
            <ToolResultView
              step={step}
              fallback={<Folded label={step.isError ? "Error" : "Result"} text={text || "(empty)"} />}
            />
          ) : null}
        </Stack>
      </Collapse>
    </Stack>
  );
}
