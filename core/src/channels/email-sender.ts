import nodemailer from "nodemailer";
import type { RenderedMessage } from "./run-message.ts";
import type { SendResult } from "./send-result.ts";

/**
 * One email over SMTP with nodemailer. `smtp://` upgrades with STARTTLS when the server offers it
 * (nodemailer's default), `smtps://` is TLS from the first byte. Retries follow SMTP's own rule,
 * which is the reverse of HTTP's numbers: a 4xx reply is temporary (try again), a 5xx permanent;
 * a connection that fails or times out is retried, a refused login is not.
 */
export async function sendEmail(
  config: { smtpUrl: string; from: string; to: string | string[] },
  message: RenderedMessage,
  options: { timeoutMs: number; subjectPrefix?: string },
): Promise<SendResult> {
  const started = performance.now();
  const smtp = new URL(config.smtpUrl);
  const secure = smtp.protocol === "smtps:";
  const transport = nodemailer.createTransport({
    host: smtp.hostname.replace(/^\[|\]$/g, ""),
    port: smtp.port ? Number(smtp.port) : secure ? 465 : 587,
    secure,
    ...(smtp.username
      ? { auth: { user: decodeURIComponent(smtp.username), pass: decodeURIComponent(smtp.password) } }
      : {}),
    connectionTimeout: options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
  });
  try {
    const info = await transport.sendMail({
      from: config.from,
      to: config.to,
      subject: `${options.subjectPrefix ?? "[FabriCore] "}${message.title}`,
      text: `${message.body}\n\n${message.url}\n`,
    });
    return { ok: true, retry: false, status: 250, response: info.response, durationMs: elapsed(started) };
  } catch (error) {
    const e = error as { code?: string; responseCode?: number; response?: string; message?: string };
    const code = e.responseCode;
    const retry = code !== undefined ? code >= 400 && code < 500 : e.code !== "EAUTH" && e.code !== "EENVELOPE";
    return {
      ok: false,
      retry,
      ...(code !== undefined ? { status: code } : {}),
      response: e.response ?? "",
      error: `SMTP: ${e.message ?? String(error)}`,
      durationMs: elapsed(started),
    };
  } finally {
    transport.close();
  }
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}
