import { execFileSync } from "node:child_process";
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
