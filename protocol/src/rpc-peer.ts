import { z } from "zod";
import { ProtocolError } from "./errors.ts";
import type { JsonRpcMessage, RequestId } from "./jsonrpc.ts";
import type {
  Catalog,
  MethodsWithResult,
  NotificationMethods,
  ParamsOf,
  ParsedParamsOf,
  ResultInputOf,
  ResultOf,
} from "./messages.ts";
import { CancelledParams } from "./messages.ts";
import type { CloseInfo, Transport } from "./transport.ts";

export interface RequestContext {
  requestId: RequestId;
  /** Aborted when the caller sends `notifications/cancelled` or the connection closes. */
  signal: AbortSignal;
}

export interface RequestOptions {
  /** Reject with `deadline_exceeded` (and tell the peer to cancel) after this long. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called once, synchronously, with a function that re-arms the timeout to fire `ms` from now
   * (the Core pushes a tool call's deadline back when the Node reports progress). */
  onTimeoutControl?: (rearm: (ms: number) => void) => void;
}

/** A request handler registered once for every peer of a kind; `context` is the peer's own. */
export interface SharedRequestContext<C> extends RequestContext {
  context: C;
}

/**
 * Handlers registered once and shared by many peers. The Core's hub serves 10,000 Nodes with the
 * same four handlers: per-peer closures and handler maps were a measurable part of its memory per
 * Node (bench/fleet.ts). Each handler gets the context the peer was created with.
 */
export class RpcHandlers<In extends Catalog, C> {
  /** @internal */
  readonly requests = new Map<string, SharedRequestHandler<C>>();
  /** @internal */
  readonly notifications = new Map<string, SharedNotificationHandler<C>>();

  onRequest<M extends MethodsWithResult<In>>(
    method: M,
    handler: (params: ParsedParamsOf<In, M>, ctx: SharedRequestContext<C>) => Promise<ResultInputOf<In, M>>,
  ): this {
    this.requests.set(method, handler as SharedRequestHandler<C>);
    return this;
  }

  onNotification<M extends NotificationMethods<In>>(
    method: M,
    handler: (params: ParsedParamsOf<In, M>, context: C) => void,
  ): this {
    this.notifications.set(method, handler as SharedNotificationHandler<C>);
    return this;
  }
}

/**
 * Options are meant to be shared too: one object for every peer of a kind (nothing in it is per
 * connection), so a fleet of peers does not carry a copy each.
 */
export interface RpcPeerOptions<In extends Catalog, Out extends Catalog, C = undefined> {
  incoming: In;
  outgoing: Out;
  /** Code for requests still pending when the connection closes (`node_offline` on the Core). */
  disconnectCode?: ProtocolError["code"];
  /** Called for problems that have no caller to return to (a bad notification, a stray reply). */
  onProblem?: (problem: string, context: C) => void;
  /** Handlers shared by every peer; ones set with setRequestHandler/setNotificationHandler win. */
  handlers?: RpcHandlers<In, C>;
}

type RequestHandler = (params: never, ctx: RequestContext) => Promise<unknown>;
type NotificationHandler = (params: never) => void;
type SharedRequestHandler<C> = (params: never, ctx: SharedRequestContext<C>) => Promise<unknown>;
type SharedNotificationHandler<C> = (params: never, context: C) => void;

interface Pending {
  method: string;
  resolve: (value: unknown) => void;
  reject: (error: ProtocolError) => void;
  cleanup: () => void;
}

/**
 * A JSON-RPC 2.0 endpoint over a Transport, typed by the two message catalogs. Every incoming
 * params object is validated against its catalog entry before a handler sees it, and every reply
 * against its result schema before a caller does; a bad message is answered with an error and
 * never throws out of here.
 */
export class RpcPeer<In extends Catalog, Out extends Catalog, C = undefined> {
  onclose?: (info: CloseInfo) => void;
  // Created on first use: an idle peer (most of a fleet, most of the time) holds no empty maps.
  private requestHandlers: Map<string, RequestHandler> | undefined;
  private notificationHandlers: Map<string, NotificationHandler> | undefined;
  private pending: Map<RequestId, Pending> | undefined;
  private inflight: Map<RequestId, AbortController> | undefined;
  private nextId = 1;
  private closed = false;

  readonly transport: Transport;
  /** What shared handlers and onProblem get for this peer (the hub's connection record). */
  readonly context: C;
  private readonly options: RpcPeerOptions<In, Out, C>;

  constructor(transport: Transport, options: RpcPeerOptions<In, Out, C>, ...context: C extends undefined ? [] : [C]) {
    this.transport = transport;
    this.options = options;
    this.context = context[0] as C;
    transport.onmessage = (message) => this.receive(message);
    transport.oninvalid = (error, id) => {
      void this.sendError(id, new ProtocolError("invalid_message", `invalid message: ${error}`));
    };
    transport.onclose = (info) => this.handleClose(info);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get pendingCount(): number {
    return this.pending?.size ?? 0;
  }

  setRequestHandler<M extends MethodsWithResult<In>>(
    method: M,
    handler: (params: ParsedParamsOf<In, M>, ctx: RequestContext) => Promise<ResultInputOf<In, M>>,
  ): void {
    this.requestHandlers ??= new Map();
    this.requestHandlers.set(method, handler as RequestHandler);
  }

  setNotificationHandler<M extends NotificationMethods<In>>(
    method: M,
    handler: (params: ParsedParamsOf<In, M>) => void,
  ): void {
    this.notificationHandlers ??= new Map();
    this.notificationHandlers.set(method, handler as NotificationHandler);
  }

  request<M extends MethodsWithResult<Out>>(
    method: M,
    params: ParamsOf<Out, M>,
    options: RequestOptions = {},
  ): Promise<ResultOf<Out, M>> {
    if (this.closed) {
      return Promise.reject(new ProtocolError(this.options.disconnectCode ?? "node_offline", "connection is closed"));
    }
    const id = this.nextId++;
    this.pending ??= new Map();
    const pending = this.pending;
    return new Promise<ResultOf<Out, M>>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = () => {
        this.cancelOutgoing(id, "cancelled", "request cancelled by caller");
      };
      const cleanup = () => {
        if (timer) clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        pending.delete(id);
        if (pending.size === 0 && this.pending === pending) this.pending = undefined;
      };
      pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject, cleanup });
      if (options.timeoutMs !== undefined) {
        let extended = false;
        const arm = (ms: number) => {
          if (timer) clearTimeout(timer);
          const message = extended
            ? `no answer to ${method} within the deadline its progress extended`
            : `no answer to ${method} within ${options.timeoutMs} ms`;
          timer = setTimeout(() => this.cancelOutgoing(id, "deadline_exceeded", message), ms);
        };
        arm(options.timeoutMs);
        options.onTimeoutControl?.((ms) => {
          extended = true;
          if (pending.has(id)) arm(ms);
        });
      }
      if (options.signal) {
        if (options.signal.aborted) return onAbort();
        options.signal.addEventListener("abort", onAbort, { once: true });
      }
      this.transport.send({ jsonrpc: "2.0", id, method, params: params as Record<string, unknown> }).catch((error) => {
        const entry = pending.get(id);
        if (!entry) return;
        entry.cleanup();
        entry.reject(new ProtocolError(this.options.disconnectCode ?? "node_offline", `send failed: ${String(error)}`));
      });
    });
  }

  async notify<M extends NotificationMethods<Out>>(method: M, params: ParamsOf<Out, M>): Promise<void> {
    if (this.closed) return;
    await this.transport.send({ jsonrpc: "2.0", method, params: params as Record<string, unknown> });
  }

  async close(code = 1000, reason = ""): Promise<void> {
    await this.transport.close(code, reason);
    this.handleClose({ code, reason });
  }

  private cancelOutgoing(id: RequestId, code: "cancelled" | "deadline_exceeded", message: string): void {
    const entry = this.pending?.get(id);
    if (!entry) return;
    entry.cleanup();
    entry.reject(new ProtocolError(code, message));
    // Tell the other side to stop working on it (MCP's cancellation notification).
    if (!this.closed) {
      this.transport
        .send({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: id, reason: message } })
        .catch(() => {});
    }
  }

  private receive(message: JsonRpcMessage): void {
    if ("method" in message) {
      if ("id" in message) void this.handleRequest(message.id, message.method, message.params ?? {});
      else this.handleNotification(message.method, message.params ?? {});
      return;
    }
    const entry = this.pending?.get(message.id as RequestId);
    if (!entry) {
      this.problem(`reply to unknown request id ${String(message.id)}`);
      return;
    }
    entry.cleanup();
    if ("error" in message) {
      entry.reject(ProtocolError.fromWire(message.error));
      return;
    }
    const schema = this.options.outgoing[entry.method]?.result;
    const parsed = schema ? schema.safeParse(message.result) : { success: true as const, data: message.result };
    if (parsed.success) entry.resolve(parsed.data);
    else
      entry.reject(
        new ProtocolError("invalid_message", `invalid result for ${entry.method}: ${z.prettifyError(parsed.error)}`),
      );
  }

  private async handleRequest(id: RequestId, method: string, params: Record<string, unknown>): Promise<void> {
    const entry = this.options.incoming[method];
    const own = this.requestHandlers?.get(method);
    const shared = own ? undefined : this.options.handlers?.requests.get(method);
    if (!entry?.result || !(own || shared)) {
      await this.sendError(id, new ProtocolError("unknown_method", `unknown method: ${method}`));
      return;
    }
    const parsed = entry.params.safeParse(params);
    if (!parsed.success) {
      await this.sendError(
        id,
        new ProtocolError("invalid_params", `invalid params for ${method}: ${z.prettifyError(parsed.error)}`),
      );
      return;
    }
    const controller = new AbortController();
    this.inflight ??= new Map();
    const inflight = this.inflight;
    inflight.set(id, controller);
    try {
      const result = own
        ? await own(parsed.data as never, { requestId: id, signal: controller.signal })
        : await shared?.(parsed.data as never, { requestId: id, signal: controller.signal, context: this.context });
      if (!this.closed) await this.transport.send({ jsonrpc: "2.0", id, result });
    } catch (error) {
      const wire =
        error instanceof ProtocolError
          ? error
          : new ProtocolError("internal", error instanceof Error ? error.message : String(error));
      await this.sendError(id, wire);
    } finally {
      inflight.delete(id);
      // An idle peer gives the map back (a Node's only request to the Core is its hello).
      if (inflight.size === 0 && this.inflight === inflight) this.inflight = undefined;
    }
  }

  private handleNotification(method: string, params: Record<string, unknown>): void {
    if (method === "notifications/cancelled") {
      const parsed = CancelledParams.safeParse(params);
      if (parsed.success) this.inflight?.get(parsed.data.requestId)?.abort(parsed.data.reason ?? "cancelled");
    }
    const entry = this.options.incoming[method];
    const own = this.notificationHandlers?.get(method);
    const shared = own ? undefined : this.options.handlers?.notifications.get(method);
    if (!entry || !(own || shared)) {
      if (method !== "notifications/cancelled") this.problem(`unhandled notification ${method}`);
      return;
    }
    const parsed = entry.params.safeParse(params);
    if (!parsed.success) {
      this.problem(`invalid params for ${method}: ${z.prettifyError(parsed.error)}`);
      return;
    }
    try {
      if (own) own(parsed.data as never);
      else shared?.(parsed.data as never, this.context);
    } catch (error) {
      this.problem(`handler for ${method} threw: ${String(error)}`);
    }
  }

  private problem(problem: string): void {
    this.options.onProblem?.(problem, this.context);
  }

  private async sendError(id: RequestId | null, error: ProtocolError): Promise<void> {
    if (this.closed) return;
    await this.transport.send({ jsonrpc: "2.0", id, error: error.toWire() }).catch(() => {});
  }

  private handleClose(info: CloseInfo): void {
    if (this.closed) return;
    this.closed = true;
    for (const controller of this.inflight?.values() ?? []) controller.abort("connection closed");
    for (const entry of [...(this.pending?.values() ?? [])]) {
      entry.cleanup();
      entry.reject(
        new ProtocolError(
          this.options.disconnectCode ?? "node_offline",
          `connection closed (${info.code}${info.reason ? `: ${info.reason}` : ""})`,
        ),
      );
    }
    this.onclose?.(info);
  }
}
