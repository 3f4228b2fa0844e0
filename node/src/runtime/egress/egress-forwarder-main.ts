/** `node egress-forwarder-main.ts PORT SOCKET`: the forwarder's entry under Node.js (tests). */
import { runForwarder } from "./egress-forwarder.ts";

runForwarder(Number(process.argv[2]), process.argv[3] ?? "");
