import { Alert, Button, Group, PasswordInput, Stack, Text, TextInput } from "@mantine/core";
import { IconAlertTriangle, IconDice5 } from "@tabler/icons-react";
import { CodeBlock } from "./code-block.tsx";

function randomSecret(): string {
  const bytes = new Uint8Array(24);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function shellSingleQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** A ready-to-paste call that signs the exact body bytes the way the Core verifies them. */
export function webhookCurl(origin: string, slug: string, secret: string | null): string {
  const url = `${origin}/api/webhook/${encodeURIComponent(slug || "<slug>")}`;
  const lines = [`BODY='{"event":"manual-test"}'`];
  if (secret !== null) lines.push(`SECRET=${shellSingleQuote(secret)}`);
  lines.push(`curl -X POST ${shellSingleQuote(url)} \\`);
  lines.push(`  -H 'Content-Type: application/json' \\`);
  if (secret !== null)
    lines.push(
      `  -H "X-Hub-Signature-256: sha256=$(printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$SECRET" | cut -d' ' -f2)" \\`,
    );
  lines.push(`  --data-raw "$BODY"`);
  return lines.join("\n");
}

export function WebhookField({
  slug,
  secret,
  hasStoredSecret,
  onChange,
  errors,
}: {
  slug: string;
  secret: string;
  /** Editing a job whose secret is already set: leaving the field empty keeps it. */
  hasStoredSecret: boolean;
  onChange: (value: { slug: string; secret: string }) => void;
  /** The Core's word on each, from the last save. */
  errors?: { slug?: string | undefined; secret?: string | undefined };
}) {
  const curlSecret = secret ? secret : hasStoredSecret ? "<the webhook secret>" : null;
  return (
    <Stack gap="sm">
      <Group align="flex-end" gap="sm" wrap="wrap">
        <TextInput
          label="Slug"
          description="The last part of the webhook URL"
          placeholder="deploy"
          required
          value={slug}
          error={errors?.slug}
          onChange={(e) => onChange({ slug: e.currentTarget.value, secret })}
          style={{ flex: "1 1 180px" }}
        />
        <PasswordInput
          label="Secret"
          description={
            hasStoredSecret ? "Set. Leave empty to keep it, or type a new one" : "Callers sign the body with it"
          }
          placeholder={hasStoredSecret ? "unchanged" : undefined}
          autoComplete="off"
          value={secret}
          error={errors?.secret}
          onChange={(e) => onChange({ slug, secret: e.currentTarget.value })}
          style={{ flex: "2 1 240px" }}
        />
        <Button
          variant="default"
          leftSection={<IconDice5 size={16} />}
          onClick={() => onChange({ slug, secret: randomSecret() })}
        >
          Generate
        </Button>
      </Group>
      {!secret && !hasStoredSecret && (
        <Alert color="yellow" variant="light" icon={<IconAlertTriangle size={16} />} p="xs">
          <Text size="sm">Without a secret anyone who knows the URL can start this job.</Text>
        </Alert>
      )}
      <div>
        <Text size="sm" fw={500} mb={4}>
          Try it
        </Text>
        <CodeBlock code={webhookCurl(window.location.origin, slug.trim(), curlSecret)} label="webhook curl command" />
      </div>
    </Stack>
  );
}
