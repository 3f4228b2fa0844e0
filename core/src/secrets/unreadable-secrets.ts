import { SecretsError } from "./errors.ts";

/** The kinds of sealed value the Core stores, as named in reports (`<kind>:<name>`). */
export type SealedKind = "secret" | "provider_api_key" | "provider_header" | "webhook_secret" | "channel_secret";

export interface UnreadableSecret {
  kind: SealedKind;
  /** The row's id (a provider's, a job's, a channel's, a secret's). */
  id: string;
  /** What a person calls it: the secret's name, `<provider>`, `<provider>.<header>`, the job's name… */
  name: string;
  code: SecretsError["code"];
  detectedAt: string;
}

const WHAT: Record<SealedKind, string> = {
  secret: "the secret",
  provider_api_key: "the API key of provider",
  provider_header: "the header of provider",
  webhook_secret: "the webhook secret of job",
  channel_secret: "the secret settings of channel",
};

/**
 * Issue 21.3: one flipped bit in one stored secret failed every run, because the redactor opened
 * every secret before each run and the first failure threw. Now a value that does not open is
 * reported here and skipped (the redactor cannot hide a value it cannot read, and nothing can use
 * it either); only what uses it fails, with `unreadableError` naming the row.
 *
 * In memory, per process: a full scan (`replaceScan`, at start and before each run) says what is
 * unreadable now; rows met elsewhere (a webhook's secret) are added by `report`. `onNew` is told
 * of each row the first time this process finds it unreadable (the Core audits and logs it).
 */
export class UnreadableSecrets {
  private readonly rows = new Map<string, UnreadableSecret>();
  private readonly onNew: (row: UnreadableSecret) => void;
  private readonly now: () => Date;

  constructor(options: { onNew?: (row: UnreadableSecret) => void; now?: () => Date } = {}) {
    this.onNew = options.onNew ?? (() => {});
    this.now = options.now ?? (() => new Date());
  }

  /** Records a failure to open (`error` a SecretsError; anything else is rethrown: a bug or the
   * database, not a damaged value). */
  report(kind: SealedKind, id: string, name: string, error: unknown): UnreadableSecret {
    if (!(error instanceof SecretsError)) throw error;
    const key = `${kind}\u0000${id}`;
    const known = this.rows.get(key);
    if (known && known.code === error.code && known.name === name) return known;
    const row: UnreadableSecret = { kind, id, name, code: error.code, detectedAt: this.now().toISOString() };
    this.rows.set(key, row);
    if (!known) this.onNew(row);
    return row;
  }

  /** The value opened again (replaced, or the key fixed): forget it. */
  clear(kind: SealedKind, id: string): void {
    this.rows.delete(`${kind}\u0000${id}`);
  }

  /** After a full scan of `kinds`: exactly `found` of those kinds are unreadable now. */
  replaceScan(kinds: readonly SealedKind[], found: ReadonlyArray<Omit<UnreadableSecret, "detectedAt">>): void {
    const still = new Set(found.map((f) => `${f.kind}\u0000${f.id}`));
    for (const [key, row] of this.rows) if (kinds.includes(row.kind) && !still.has(key)) this.rows.delete(key);
    for (const f of found) {
      this.report(f.kind, f.id, f.name, new SecretsError(f.code, "unreadable"));
    }
  }

  list(): UnreadableSecret[] {
    return [...this.rows.values()].sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
  }

  has(kind: SealedKind, id: string): boolean {
    return this.rows.has(`${kind}\u0000${id}`);
  }

  countByKind(): Record<SealedKind, number> {
    const counts: Record<SealedKind, number> = {
      secret: 0,
      provider_api_key: 0,
      provider_header: 0,
      webhook_secret: 0,
      channel_secret: 0,
    };
    for (const row of this.rows.values()) counts[row.kind] += 1;
    return counts;
  }
}

/** The sentence a run, a delivery or an API answer gives for a value that does not open. */
export function unreadableMessage(kind: SealedKind, name: string, code: SecretsError["code"]): string {
  const why =
    code === "unknown_key_version"
      ? "it was sealed under a master key this Core does not hold"
      : "it was tampered with, or sealed under another master key";
  return `${WHAT[kind]} "${name}" cannot be decrypted (${why}); set it again`;
}

/** A SecretsError whose message names the row (thrown where a damaged value is needed). */
export function unreadableError(kind: SealedKind, name: string, error: unknown): SecretsError {
  if (!(error instanceof SecretsError)) throw error;
  return new SecretsError(error.code, unreadableMessage(kind, name, error.code), { cause: error });
}
