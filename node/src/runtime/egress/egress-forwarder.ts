import { connect, createServer } from "node:net";

/** The address the forwarder listens on inside the container's network namespace (its own loopback). */
export const FORWARDER_HOST = "127.0.0.1";
export const FORWARDER_PORT = 3128;

/**
 * Runs inside a container's network namespace (the Node starts it there with nsenter), in the
 * host's mount namespace: listens on the container's loopback and pipes each connection to the
 * server's egress proxy, a unix socket the container itself cannot see. Exits when its parent (the
 * Node) closes stdin, so a Node that dies leaves no forwarder behind. Only node:net here: the same
 * file runs from the compiled Node (`fabricore-node __egress-forward`) and under Node.js in tests.
 */
export function runForwarder(port: number, socketPath: string): void {
  const server = createServer((client) => {
    const upstream = connect(socketPath);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.on("error", (error) => {
    process.stderr.write(`egress forwarder: ${error.message}\n`);
    process.exit(1);
  });
  server.listen(port, FORWARDER_HOST, () => process.stdout.write("ready\n"));
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
  process.stdin.on("close", () => process.exit(0));
}
