import { list, type Operation, text } from "./openapi-operation.ts";
import * as R from "./responses.ts";

/** Who may do what: sign-in, users and tokens, the audit log, and the operational routes (health, metrics, this document). */
export const ACCESS_OPERATIONS: Record<string, Operation> = {
  "POST /api/auth/login": {
    operationId: "login",
    summary: "Log in: a session token and the HttpOnly session cookie",
    tag: "auth",
    responses: { 200: R.LoginAnswer },
    errors: [401, 423, 429],
  },
  "POST /api/auth/logout": {
    operationId: "logout",
    summary: "End this session",
    tag: "auth",
    responses: { 200: R.Ok },
  },
  "POST /api/auth/password": {
    operationId: "changeOwnPassword",
    summary: "Change my own password (any role): every session and token of mine ends, this one is replaced",
    tag: "auth",
    responses: { 200: R.LoginAnswer },
    errors: [423],
  },
  "GET /api/auth/me": {
    operationId: "getMe",
    summary: "Who the credential belongs to",
    tag: "auth",
    responses: { 200: R.Me },
  },
  "POST /api/tokens": {
    operationId: "createToken",
    summary: "A long-lived API token (shown once)",
    tag: "auth",
    responses: { 201: R.CreatedToken },
  },
  "GET /api/tokens": {
    operationId: "listTokens",
    summary: "My API tokens",
    tag: "auth",
    responses: { 200: list(R.TokenInfo) },
  },
  "DELETE /api/tokens/:id": {
    operationId: "deleteToken",
    summary: "Revoke an API token",
    tag: "auth",
    responses: { 200: R.Ok },
  },

  "GET /api/users": {
    operationId: "listUsers",
    summary: "Users and roles",
    tag: "admin",
    responses: { 200: list(R.UserInfo) },
  },
  "POST /api/users": {
    operationId: "createUser",
    summary: "Add a user",
    tag: "admin",
    responses: { 201: R.UserInfo },
    errors: [409],
  },
  "PATCH /api/users/:id": {
    operationId: "updateUser",
    summary: "Change a role or password",
    tag: "admin",
    responses: { 200: R.UserInfo },
    errors: [409],
  },
  "DELETE /api/users/:id": {
    operationId: "deleteUser",
    summary: "Delete a user",
    tag: "admin",
    responses: { 200: R.Ok },
    errors: [409],
  },
  "GET /api/audit": {
    operationId: "listAudit",
    summary: "The audit log, newest first",
    tag: "admin",
    responses: { 200: list(R.AuditEntry) },
  },
  "GET /api/overview": {
    operationId: "getOverview",
    summary: "The dashboard's numbers",
    tag: "admin",
    responses: { 200: R.Overview },
  },
  "GET /healthz": {
    operationId: "health",
    summary: "Liveness and a few numbers",
    tag: "ops",
    responses: { 200: R.Health },
  },
  "GET /metrics": {
    operationId: "metrics",
    summary: "Prometheus metrics",
    tag: "ops",
    responses: { 200: text("Prometheus text exposition format 0.0.4") },
  },
  "GET /api/openapi.json": {
    operationId: "openapi",
    summary: "This document",
    tag: "ops",
    responses: { 200: R.OpenApiDocument },
  },
};
