export { SecretsError, type SecretsErrorCode } from "./errors.ts";
export {
  type LoadMasterKeyOptions,
  loadMasterKey,
  MASTER_KEY_BYTES,
  MASTER_KEY_FILE,
  type MasterKey,
} from "./master-key.ts";
export { hashPassword, verifyPassword } from "./passwords.ts";
export { SecretBox, type SecretBoxKey, type SecretBoxOptions } from "./secret-box.ts";
export {
  generateToken,
  hashToken,
  hmacSha256Hex,
  type TokenPrefix,
  timingSafeEqualHex,
  verifyGithubSignature,
} from "./tokens.ts";
