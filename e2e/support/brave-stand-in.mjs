/**
 * A stand-in for api.search.brave.com, run by e2e/mcp-brave-egress.test.ts inside a network
 * namespace of its own (`ip netns exec … node brave-stand-in.mjs DIR ADDRESS`), so no test traffic
 * leaves the machine:
 *
 * - HTTPS on :443 with DIR/cert.pem (signed by the test's own CA): `GET /res/v1/web/search` answers
 *   a WebSearchApiResponse-shaped JSON (the fields the Brave docs describe and the server reads),
 *   when the request carries the `X-Subscription-Token` the test gave the server (DIR/token). A query
 *   containing "elsewhere" is answered with a redirect to another host, so the server's fetch tries
 *   to reach a host its allow list does not name.
 * - DNS on UDP :53, the resolver the Node's egress proxy is pointed at (`--egress-dns`): the names in
 *   DIR/names.json get an A record (ADDRESS), every other name NXDOMAIN. The machine's own resolver
 *   and /etc/hosts are never involved.
 *
 * Each HTTPS request is printed as one JSON line on stdout; "ready" once both listen.
 */
import { createSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import { join } from "node:path";

const [dir, address] = process.argv.slice(2);
const token = readFileSync(join(dir, "token"), "utf8").trim();
const names = new Set(JSON.parse(readFileSync(join(dir, "names.json"), "utf8")));

function webSearch(query, seenToken) {
  return {
    type: "search",
    query: { original: query, more_results_available: false },
    mixed: { type: "mixed", main: [{ type: "web", index: 0, all: false }] },
    web: {
      type: "search",
      family_friendly: true,
      results: [
        {
          type: "search_result",
          title: "FabriCore stand-in result one",
          url: "https://example.org/one",
          description: `Answered for ${JSON.stringify(query)} by the namespace's api.search.brave.com`,
          is_source_local: false,
          is_source_both: false,
          language: "en",
          family_friendly: true,
        },
        {
          type: "search_result",
          title: "FabriCore stand-in result two",
          url: "https://example.org/two",
          // The key the server sent, echoed back: the Core must redact it before anyone sees it.
          description: `The subscription token this request carried: ${seenToken}`,
          is_source_local: false,
          is_source_both: false,
          language: "en",
          family_friendly: true,
        },
      ],
    },
  };
}

const https = createServer(
  { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) },
  (req, res) => {
    const url = new URL(req.url ?? "/", "https://api.search.brave.com");
    const seen = req.headers["x-subscription-token"];
    console.log(JSON.stringify({ host: req.headers.host, path: url.pathname, q: url.searchParams.get("q") }));
    if (seen !== token) {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ type: "ErrorResponse", error: { status: 401, code: "SUBSCRIPTION_TOKEN_INVALID" } }));
      return;
    }
    if (url.pathname !== "/res/v1/web/search") {
      res.writeHead(404, { "content-type": "application/json" }).end("{}");
      return;
    }
    const query = url.searchParams.get("q") ?? "";
    if (query.includes("elsewhere")) {
      res.writeHead(302, { location: `https://tracker.test/collect?q=${encodeURIComponent(query)}` }).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(webSearch(query, seen)));
  },
);

/** The question's name (labels up to the terminating zero) and where its type field starts. */
function question(message) {
  const labels = [];
  let at = 12;
  while (message[at] !== 0) {
    const length = message[at];
    labels.push(message.subarray(at + 1, at + 1 + length).toString("latin1"));
    at += 1 + length;
  }
  return { name: labels.join(".").toLowerCase(), typeAt: at + 1 };
}

const dns = createSocket("udp4");
dns.on("message", (message, peer) => {
  if (message.length < 17) return;
  const { name, typeAt } = question(message);
  const type = message.readUInt16BE(typeAt);
  const known = names.has(name);
  const header = Buffer.from(message.subarray(0, 12));
  const answerA = known && type === 1;
  // QR, RD copied, RA; RCODE 3 (NXDOMAIN) for names it does not know.
  header.writeUInt16BE(0x8180 | (message.readUInt16BE(2) & 0x0100) | (known ? 0 : 3), 2);
  header.writeUInt16BE(1, 4); // QDCOUNT
  header.writeUInt16BE(answerA ? 1 : 0, 6); // ANCOUNT
  header.writeUInt32BE(0, 8); // NSCOUNT, ARCOUNT
  const parts = [header, message.subarray(12, typeAt + 4)];
  if (answerA) {
    const record = Buffer.alloc(16);
    record.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
    record.writeUInt16BE(1, 2); // A
    record.writeUInt16BE(1, 4); // IN
    record.writeUInt32BE(30, 6); // TTL
    record.writeUInt16BE(4, 10);
    for (const [i, octet] of address.split(".").entries()) record.writeUInt8(Number(octet), 12 + i);
    parts.push(record);
  }
  dns.send(Buffer.concat(parts), peer.port, peer.address);
});

let listening = 0;
const ready = () => {
  listening += 1;
  if (listening === 2) console.log("ready");
};
https.listen(443, "0.0.0.0", ready);
dns.bind(53, "0.0.0.0", ready);
