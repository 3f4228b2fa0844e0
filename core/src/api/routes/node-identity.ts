import {
  ChallengeResponse,
  EnrollRequest,
  EnrollResponse,
  NODE_CHALLENGE_PATH,
  NODE_ENROLL_PATH,
} from "@fabricore/protocol";
import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import type { FleetNode } from "../../database/types.ts";
import type { NodeIdentityService } from "../../nodes/node-identity-service.ts";
import { requireRole } from "../auth.ts";

/** Paths a Node calls without an API token (app.ts lists them as public); each checks its own proof. */
export const NODE_PUBLIC_PATHS: readonly string[] = [NODE_ENROLL_PATH, NODE_CHALLENGE_PATH];

const RotateParams = z.object({ id: z.string().min(1).max(200) });
const RotateResponse = z.object({ id: z.string(), name: z.string(), token: z.string() });

/**
 * The Node identity routes: enrollment (the `fcn_` token registers the Node's public key, once),
 * challenges for the signed WebSocket upgrade, and token rotation.
 */
export async function nodeIdentityRoutes(
  app: FastifyInstance,
  deps: {
    identity: NodeIdentityService;
    resolveNode: (idOrName: string) => Promise<FleetNode>;
    /** The release key's public half (self-update): the enrolling Node pins it. */
    updateKey?: string | undefined;
  },
): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(NODE_ENROLL_PATH, { schema: { body: EnrollRequest, response: { 200: EnrollResponse } } }, async (request) => ({
    ...(await deps.identity.register(request.body.token, request.body.publicKey)),
    ...(deps.updateKey !== undefined && { updateKey: deps.updateKey }),
  }));

  r.post(NODE_CHALLENGE_PATH, { schema: { response: { 200: ChallengeResponse } } }, async () =>
    deps.identity.challenge(),
  );

  r.post(
    "/api/nodes/:id/rotate",
    { schema: { params: RotateParams, response: { 201: RotateResponse } }, preHandler: requireRole("admin") },
    async (request, reply) => {
      const rotated = await deps.identity.rotate(await deps.resolveNode(request.params.id));
      reply.code(201);
      return rotated;
    },
  );
}
