import { checkTemplate, renderTemplate } from "@fabricore/protocol/prompt-template.ts";
import { Code, JsonInput, Stack, Text } from "@mantine/core";
import { useState } from "react";

const SAMPLE_INPUT = JSON.stringify({ ref: "refs/heads/main", repository: { full_name: "acme/web" } }, null, 2);

/** The prompt as a run would see it, filled from a sample input with the Core's own template code
 * (protocol/prompt-template.ts), so the preview cannot disagree with the run. */
export function PromptPreview({ prompt, name }: { prompt: string; name: string }) {
  const [sample, setSample] = useState(SAMPLE_INPUT);
  let input: unknown;
  let parseError: string | null = null;
  try {
    input = JSON.parse(sample);
  } catch (err) {
    parseError = err instanceof Error ? err.message : String(err);
  }
  const problems = checkTemplate(prompt);
  const rendered =
    parseError === null && problems.length === 0
      ? renderTemplate(prompt, {
          input,
          webhook: { event: "push", deliveryId: "sample-delivery" },
          job: { id: "sample-job-id", name: name || "this-job" },
          run: { id: "sample-run-id", trigger: "webhook" },
        })
      : null;
  return (
    <Stack gap="xs">
      <JsonInput
        label="Sample input"
        description="As a webhook or a chained job would give it; a missing value becomes empty text"
        autosize
        minRows={3}
        maxRows={10}
        value={sample}
        onChange={setSample}
        error={parseError ? `Not JSON: ${parseError}` : null}
        validationError={parseError ? `Not JSON: ${parseError}` : "Not JSON"}
      />
      {problems.length > 0 ? (
        <Text size="sm" c="red" data-testid="prompt-template-problems">
          {problems.join("; ")}
        </Text>
      ) : null}
      {rendered !== null ? (
        <div>
          <Text size="sm" fw={500} mb={4}>
            The prompt a webhook run would get
          </Text>
          <Code block data-testid="prompt-preview" style={{ whiteSpace: "pre-wrap" }}>
            {rendered}
          </Code>
        </div>
      ) : null}
    </Stack>
  );
}
