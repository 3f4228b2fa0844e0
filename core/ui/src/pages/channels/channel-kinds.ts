import type { Channel, ChannelKind } from "../../api/types.ts";

/** One input of a channel's form: `secret` ones are write-only (never shown again). */
export interface ChannelField {
  key: string;
  label: string;
  description: string;
  placeholder: string;
  required: boolean;
  secret: boolean;
  /** "to" accepts several addresses separated by commas. */
  list?: boolean;
}

const url = (label: string, description: string, placeholder: string, secret: boolean): ChannelField => ({
  key: "url",
  label,
  description,
  placeholder,
  required: true,
  secret,
});

/** What each kind asks for, as CONTRACT "Results that reach people" names it. */
export const CHANNEL_FIELDS: Record<ChannelKind, ChannelField[]> = {
  webhook: [
    url("URL", "Receives a POST with the run as JSON", "https://example.com/hooks/fabricore", false),
    {
      key: "secret",
      label: "Signing secret",
      description: "Optional. whsec_… (Standard Webhooks): each delivery carries webhook-signature",
      placeholder: "whsec_…",
      required: false,
      secret: true,
    },
  ],
  slack: [
    url(
      "Incoming webhook URL",
      "Slack app → Incoming Webhooks; the URL is the credential",
      "https://hooks.slack.com/services/…",
      true,
    ),
  ],
  discord: [
    url("Webhook URL", "Channel settings → Integrations → Webhooks", "https://discord.com/api/webhooks/…", true),
  ],
  ntfy: [
    url("Topic URL", "The ntfy server and topic", "https://ntfy.sh/my-servers", false),
    {
      key: "token",
      label: "Access token",
      description: "Optional. An ntfy token (tk_…) for a protected topic",
      placeholder: "tk_…",
      required: false,
      secret: true,
    },
  ],
  email: [
    {
      key: "smtpUrl",
      label: "SMTP server",
      description: "smtp://user:password@host:587 (STARTTLS when offered) or smtps://…:465",
      placeholder: "smtp://user:password@mail.example.com:587",
      required: true,
      secret: true,
    },
    {
      key: "from",
      label: "From",
      description: "The sender address",
      placeholder: "fabricore@example.com",
      required: true,
      secret: false,
    },
    {
      key: "to",
      label: "To",
      description: "One or more addresses, separated by commas",
      placeholder: "ops@example.com",
      required: true,
      secret: false,
      list: true,
    },
  ],
};

export const KIND_LABELS: Record<ChannelKind, string> = {
  webhook: "Webhook",
  slack: "Slack",
  discord: "Discord",
  ntfy: "ntfy",
  email: "Email",
};

/** Turns the form's strings into the API's config: empty optional fields left out, lists split. */
export function configFromForm(kind: ChannelKind, values: Record<string, string>): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  for (const field of CHANNEL_FIELDS[kind]) {
    const value = (values[field.key] ?? "").trim();
    if (value === "") continue;
    if (field.list) {
      const items = value
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      config[field.key] = items.length === 1 ? items[0] : items;
    } else config[field.key] = value;
  }
  return config;
}

/** Where a channel sends, in words, from what GET returns (never a secret). */
export function channelTarget(channel: Channel): string {
  const c = channel.config;
  const text = (v: unknown) => (typeof v === "string" ? v : Array.isArray(v) ? v.join(", ") : "");
  switch (channel.kind) {
    case "webhook":
    case "ntfy":
      return text(c.url);
    case "slack":
    case "discord":
      return text(c.host);
    case "email":
      return `${text(c.to)} via ${text(c.smtpHost)}`;
  }
}
