import http from "node:http";
import https from "node:https";
import type { TLSSocket } from "node:tls";

/** The Core answered with an HTTP error status; `message` is its `{"error":{"message"}}` when it sent one. */
export class CoreHttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = "CoreHttpError";
    this.status = status;
  }
}

export interface CoreHttpOptions {
  /** PEM of a private CA to trust (--ca); otherwise the runtime's default roots. */
  ca?: string | undefined;
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface CoreHttpAnswer {
  body: unknown;
  /** SHA-256 fingerprint of the Core's TLS certificate (`AB:CD:…`), on https only. */
  fingerprint: string | undefined;
}

/**
 * POSTs JSON to the Core and returns its JSON answer and, over TLS, the certificate it presented —
 * the Node pins that fingerprint. Certificates are always verified (default roots or --ca); a fresh
 * connection per call (no agent) so the fingerprint is the one of this very handshake.
 */
export function postJson(url: string, payload: unknown, options: CoreHttpOptions = {}): Promise<CoreHttpAnswer> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const body = JSON.stringify(payload);
    const secure = target.protocol === "https:";
    const request = (secure ? https : http).request(
      target,
      {
        method: "POST",
        agent: false,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        timeout: options.timeoutMs ?? 10_000,
        ...(secure && options.ca !== undefined && { ca: options.ca }),
        ...(options.signal && { signal: options.signal }),
      },
      (response) => {
        const socket = response.socket as TLSSocket;
        const fingerprint = secure ? socket.getPeerCertificate?.()?.fingerprint256 : undefined;
        const chunks: Buffer[] = [];
        let size = 0;
        response.on("data", (chunk: Buffer) => {
          size += chunk.length;
          // An answer this small never legitimately exceeds 64 KiB.
          if (size > 65_536) request.destroy(new Error("the Core's answer is too large"));
          else chunks.push(chunk);
        });
        response.on("error", reject);
        response.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown;
          try {
            parsed = text === "" ? undefined : JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          const status = response.statusCode ?? 0;
          if (status < 200 || status >= 300) {
            const message =
              (parsed as { error?: { message?: unknown } } | undefined)?.error?.message ?? `HTTP ${status}`;
            reject(new CoreHttpError(status, String(message)));
            return;
          }
          resolve({ body: parsed, fingerprint: fingerprint || undefined });
        });
      },
    );
    request.on("timeout", () => request.destroy(new Error(`no answer from ${target.origin} in time`)));
    request.on("error", reject);
    request.end(body);
  });
}
