import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";

/** A one-day self-signed P-256 certificate for 127.0.0.1 (CN and IP SAN), made with openssl into
 * `dir` as key.pem and `certFile`: what a self-hoster's own-CA Core looks like to the Node and CLI. */
export function makeLoopbackCert(dir: string, certFile: string): { keyFile: string; certFile: string } {
  const keyFile = join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ],
    { stdio: "ignore" },
  );
  return { keyFile, certFile };
}

/** One JSON request over HTTPS trusting only `certFile`: the status and the parsed body (null when
 * empty), whatever the status, so a test can check refusals as well as answers. */
export function httpsJson<T = unknown>(
  url: string,
  certFile: string,
  method: string,
  body?: unknown,
  bearer?: string,
): Promise<{ status: number; json: T | null }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ca: readFileSync(certFile),
        headers: {
          ...(body ? { "content-type": "application/json" } : {}),
          ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        },
      },
      (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : null }));
      },
    );
    req.on("error", reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}
