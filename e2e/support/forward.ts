/**
 * A byte-for-byte TCP/Unix-socket forwarder. Network namespaces do not share loopback, but they do
 * share the filesystem, so a Unix socket is how a test in the root namespace reaches a Core that runs
 * in a namespace of its own (and how that Core reaches the scripted model) without giving any address
 * outside the test's own namespaces.
 *
 * As a program (run inside a namespace with `ip netns exec`): `node forward.ts '<json Forward[]>'`,
 * prints `ready` once every listener is up.
 */
import { createConnection, createServer, type NetConnectOpts, type Server, type Socket } from "node:net";

export type Endpoint = { host: string; port: number } | { path: string };

export interface Forward {
  listen: Endpoint;
  to: Endpoint;
}

/** Listens on `listen`; each connection is piped to a new connection to `to`. */
export function forward({ listen, to }: Forward): Promise<Server> {
  const sockets = new Set<Socket>();
  const server = createServer((inbound) => {
    const outbound = createConnection(to as NetConnectOpts);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      // Either side failing ends both: the forwarder itself must not crash.
      s.on("error", () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  // close() stops listening and drops the piped connections too.
  const close = server.close.bind(server);
  server.close = (callback?: (err?: Error) => void) => {
    for (const s of sockets) s.destroy();
    return close(callback);
  };
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen, () => resolve(server));
  });
}

if (import.meta.main) {
  const forwards = JSON.parse(process.argv[2] ?? "[]") as Forward[];
  await Promise.all(forwards.map(forward));
  process.stdout.write("ready\n");
}
