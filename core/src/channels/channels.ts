import type { ChannelsRepo, JobsRepo } from "../database/index.ts";
import type { Channel } from "../database/types.ts";
import { CoreError } from "../errors.ts";
import { unreadableError } from "../secrets/unreadable-secrets.ts";
import { type ChannelBody, joinConfig, splitConfig } from "./channel-config.ts";
import { testPayload } from "./run-message.ts";
import type { SendResult } from "./send-result.ts";
import { sendToChannel } from "./senders.ts";

/** Channels: created with their secrets sealed, tested on demand, deleted only when no job's
 * notify rule still names them. */
export class Channels {
  private readonly deps: {
    channels: ChannelsRepo;
    jobs: Pick<JobsRepo, "listNotifying">;
    publicUrl: string;
    timeoutMs: number;
    /** Called after a change so the log/transcript redactor knows the channel's secret values. */
    secretsChanged?: () => Promise<void>;
    fetch?: typeof fetch;
  };

  constructor(deps: Channels["deps"]) {
    this.deps = deps;
  }

  async create(body: ChannelBody): Promise<Channel> {
    if (await this.deps.channels.resolve(body.name))
      throw new CoreError("conflict", `a channel named ${body.name} exists`);
    const channel = await this.deps.channels.create(splitConfig(body));
    await this.deps.secretsChanged?.();
    return channel;
  }

  list(): Promise<Channel[]> {
    return this.deps.channels.list();
  }

  async get(idOrName: string): Promise<Channel> {
    const channel = await this.deps.channels.resolve(idOrName);
    if (!channel) throw new CoreError("not_found", `channel ${idOrName} not found`);
    return channel;
  }

  async delete(idOrName: string): Promise<Channel> {
    const channel = await this.get(idOrName);
    const users = await this.deps.jobs.listNotifying(channel.id);
    if (users.length) {
      throw new CoreError(
        "conflict",
        `channel ${channel.name} is used by ${users.map((j) => j.name).join(", ")}; remove it from their notify rules first`,
      );
    }
    await this.deps.channels.delete(channel.id);
    await this.deps.secretsChanged?.();
    return channel;
  }

  /** Sends a `channel.test` message now (no retry) and says what the receiver answered. */
  async test(idOrName: string): Promise<SendResult & { channel: string }> {
    const channel = await this.get(idOrName);
    const secret = await this.deps.channels.getSecret(channel.id).catch((error: unknown) => {
      throw unreadableError("channel_secret", channel.name, error);
    });
    const config = joinConfig(channel.kind, channel.config, secret);
    const result = await sendToChannel(config, testPayload(this.deps.publicUrl, channel.name), {
      messageId: `msg_test_${Date.now().toString(36)}`,
      timeoutMs: this.deps.timeoutMs,
      ...(this.deps.fetch ? { fetch: this.deps.fetch } : {}),
    });
    return { channel: channel.name, ...result };
  }

  /** Every channel secret value, for the redactor (`channel:<name>`). */
  async secretValues(
    onUnreadable?: (row: { id: string; name: string }, error: unknown) => void,
  ): Promise<Array<{ name: string; value: string }>> {
    const out: Array<{ name: string; value: string }> = [];
    for (const channel of await this.deps.channels.list()) {
      if (!channel.secrets.length) continue;
      let secret: Record<string, string>;
      try {
        secret = await this.deps.channels.getSecret(channel.id);
      } catch (error) {
        // One damaged channel row is reported, not a failure of every reader (issue 21.3).
        if (!onUnreadable) throw error;
        onUnreadable({ id: channel.id, name: channel.name }, error);
        continue;
      }
      for (const [field, value] of Object.entries(secret)) {
        out.push({ name: `channel:${channel.name}.${field}`, value });
        // An SMTP URL's password alone (it may show in a server's error text).
        if (field === "smtpUrl") {
          const password = URL.canParse(value) ? decodeURIComponent(new URL(value).password) : "";
          if (password) out.push({ name: `channel:${channel.name}.password`, value: password });
        }
      }
    }
    return out;
  }
}
