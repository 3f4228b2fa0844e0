export type SecretsErrorCode =
  /** Authentication failed: a changed bit, the wrong key, or a ciphertext moved to another row/field. */
  | "decrypt_failed"
  /** Not an envelope this code wrote (wrong prefix, bad base64, too short). */
  | "invalid_envelope"
  /** The envelope names a key version this process does not hold. */
  | "unknown_key_version"
  /** FABRICORE_MASTER_KEY or the key file is not base64 of exactly 32 bytes. */
  | "invalid_master_key"
  /** The master key is not one this database knows, or one that key rotation retired. */
  | "wrong_master_key";

export class SecretsError extends Error {
  readonly code: SecretsErrorCode;

  constructor(code: SecretsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SecretsError";
    this.code = code;
  }
}
