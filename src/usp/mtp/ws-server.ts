// The WebSocket MTP with the agents as servers (TR-369 R-WS.6; docs/usp-behaviour.md
// "WebSocket"): one listening port per shard, the agents told apart by the request path
// `/usp/<Endpoint ID>` (R-WS.2), the controller connecting with subprotocol v1.usp and its
// Endpoint ID in the bbf-usp-protocol extension (R-WS.10a). Each accepted connection is an
// AgentLink of that agent, up from the start.
//
// On node:http and the `ws` library's WebSocketServer (noServer): uWebSockets.js cannot put
// a `bbf-usp-protocol` Sec-WebSocket-Extensions header into its 101 answer (R-WS.11a), ws
// can (its 'headers' event). A refused upgrade gets an HTTP status with a JSON body.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

import type { AgentLink, LinkEvents, LinkState } from './link.js';
import { eidOfExtensions, USP_WS_SUBPROTOCOL, uspExtensionHeader, WS_MAX_MESSAGE_BYTES } from './websocket.js';

/** The path prefix under which each agent is reached: `/usp/<Endpoint ID>` (percent-encoded). */
export const WS_AGENT_PATH = '/usp/';

export interface WsAgentHost {
  /** The shard-local index of the agent with this Endpoint ID, if it is in this shard. */
  agentOf(endpointId: string): number | undefined;
  /** Why agent l takes no controller now (powered off, already has a session), or undefined. */
  refusal(l: number): { status: number; error: string } | undefined;
  /** The controller agent l accepts (Controller.1.EndpointID). */
  controllerId(l: number): string;
  /** Seconds between the agent's Pings on a session (LocalAgent.MTP.1.WebSocket.KeepAliveInterval; 0: none). */
  keepAliveSec(l: number): number;
  /** A controller's session with agent l is open: `attach` the agent's events to the link. */
  accepted(l: number, link: WsServerLink): void;
}

/** The path of agent `endpointId` on a shard's listener. */
export function agentPath(endpointId: string): string {
  return `${WS_AGENT_PATH}${encodeURIComponent(endpointId)}`;
}

export class WsAgentServer {
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly links = new Set<WsServerLink>();

  constructor(private readonly host: WsAgentHost) {
    this.http = createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'application/json', upgrade: 'websocket' }).end(JSON.stringify({ error: 'a USP agent: upgrade to WebSocket with subprotocol v1.usp' }));
    });
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: WS_MAX_MESSAGE_BYTES,
      handleProtocols: (protocols) => (protocols.has(USP_WS_SUBPROTOCOL) ? USP_WS_SUBPROTOCOL : false),
    });
    this.wss.on('headers', (headers, req) => {
      // R-WS.11a: answer with the agent's own Endpoint ID when the controller sent the extension.
      const eid = pathEid(req.url);
      if (eid !== undefined && eidOfExtensions(req.headers['sec-websocket-extensions']) !== undefined) headers.push(`Sec-WebSocket-Extensions: ${uspExtensionHeader(eid)}`);
    });
    this.http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.upgrade(req, socket, head));
  }

  /** Listen on host:port (0: a free port); resolves with the port. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => {
        this.http.off('error', reject);
        resolve((this.http.address() as AddressInfo).port);
      });
    });
  }

  async close(): Promise<void> {
    for (const l of this.links) l.abort();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeAllConnections();
  }

  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on('error', () => undefined);
    const eid = pathEid(req.url);
    const l = eid === undefined ? undefined : this.host.agentOf(eid);
    if (eid === undefined || l === undefined) return refuse(socket, 404, `no USP agent at ${JSON.stringify(req.url ?? '')}: the path is ${WS_AGENT_PATH}<Endpoint ID>`);
    const protocols = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (!protocols.includes(USP_WS_SUBPROTOCOL)) return refuse(socket, 400, `Sec-WebSocket-Protocol must offer ${USP_WS_SUBPROTOCOL} (TR-369 R-WS.10)`);
    const ctl = eidOfExtensions(req.headers['sec-websocket-extensions']);
    const expected = this.host.controllerId(l);
    if (ctl !== undefined && ctl !== expected) return refuse(socket, 403, `controller ${JSON.stringify(ctl)} is not this agent's controller (${JSON.stringify(expected)})`);
    const no = this.host.refusal(l);
    if (no) return refuse(socket, no.status, no.error);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      // The agent may have powered off or been taken meanwhile (the upgrade is asynchronous).
      if (this.host.refusal(l) !== undefined) {
        ws.close(1013, 'try again later');
        return;
      }
      const link = new WsServerLink(ws, this.host.keepAliveSec(l), () => this.links.delete(link));
      this.links.add(link);
      this.host.accepted(l, link);
    });
  }
}

function pathEid(url: string | undefined): string | undefined {
  if (!url?.startsWith(WS_AGENT_PATH)) return undefined;
  const raw = url.slice(WS_AGENT_PATH.length).split('?')[0]!;
  try {
    const eid = decodeURIComponent(raw);
    return eid === '' || eid.includes('/') ? undefined : eid;
  } catch {
    return undefined;
  }
}

function refuse(socket: Socket, status: number, error: string): void {
  const body = JSON.stringify({ error });
  const text = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 503: 'Service Unavailable' }[status] ?? 'Error';
  socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** One controller session of an agent that is a WebSocket server. */
export class WsServerLink implements AgentLink {
  private st: LinkState = 'up';
  private events: LinkEvents | undefined;
  private timer: NodeJS.Timeout | undefined;
  private awaitingPong = false;
  private ending: { reason: string; cause: 'closed' | 'link' | 'timeout' | 'error' } | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly keepAliveSec: number,
    private readonly gone: () => void,
  ) {
    ws.on('message', (data, isBinary) => {
      if (this.st !== 'up') return;
      // R-WS.16: a Record that cannot be extracted (a text frame) closes with 1003.
      if (!isBinary) {
        this.ending = { reason: 'websocket: USP Records travel in binary frames (closed with 1003)', cause: 'error' };
        ws.close(1003, 'USP Records travel in binary frames');
        return;
      }
      const b = data as Buffer;
      this.events?.onRecord(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), undefined);
    });
    ws.on('pong', () => (this.awaitingPong = false));
    ws.on('error', (e) => (this.ending ??= { reason: `websocket: ${e.message}`, cause: 'error' }));
    ws.on('close', (code) => this.closed(code));
    if (keepAliveSec > 0) this.timer = setInterval(() => this.keepAlive(), keepAliveSec * 1000);
  }

  /** The agent's events, set once it has taken the session. */
  attach(events: LinkEvents): void {
    this.events = events;
  }

  get state(): LinkState {
    return this.st;
  }

  /** A server session is made by the controller: there is nothing to connect. */
  connect(): void {
    throw new Error('websocket server session: the controller connects, the agent does not');
  }

  publish(_dest: string, payload: Uint8Array): Promise<void> {
    if (this.st !== 'up') return Promise.reject(new Error(`websocket server session: publish in state ${this.st}`));
    return new Promise((resolve, reject) => this.ws.send(payload, { binary: true }, (err) => (err ? reject(err) : resolve())));
  }

  maxPayloadTo(): number {
    return WS_MAX_MESSAGE_BYTES;
  }

  async close(final?: { topic: string; payload: Uint8Array }): Promise<void> {
    if (this.st === 'closed') return;
    const wasUp = this.st === 'up';
    this.st = 'closed';
    this.stopTimer();
    if (!wasUp) return;
    const done = new Promise<void>((resolve) => this.ws.once('close', () => resolve()));
    if (final !== undefined) this.ws.send(final.payload, { binary: true });
    this.ws.close(1000, 'agent going down');
    const guard = setTimeout(() => this.ws.terminate(), 5000);
    await done;
    clearTimeout(guard);
  }

  cut(reason: string): void {
    if (this.st !== 'up') return;
    this.ending = { reason, cause: 'link' };
    const sock = (this.ws as unknown as { _socket?: Socket })._socket;
    if (sock) sock.resetAndDestroy();
    else this.ws.terminate();
  }

  abort(): void {
    if (this.st === 'closed') return;
    this.st = 'closed';
    this.stopTimer();
    this.ws.terminate();
  }

  private keepAlive(): void {
    if (this.st !== 'up') return;
    if (this.awaitingPong) {
      this.ending = { reason: `websocket keepalive: no answer to a Ping within ${this.keepAliveSec} s`, cause: 'timeout' };
      this.ws.terminate();
      return;
    }
    this.awaitingPong = true;
    this.ws.ping();
  }

  private closed(code: number): void {
    this.stopTimer();
    this.gone();
    if (this.st !== 'up') return;
    this.st = 'down';
    const e = this.ending ?? { reason: `controller closed the WebSocket (code ${code})`, cause: 'closed' as const };
    this.events?.onDown(e.reason, e.cause);
  }

  private stopTimer(): void {
    if (this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
