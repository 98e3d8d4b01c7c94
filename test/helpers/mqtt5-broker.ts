// A small MQTT 5 broker for tests of what no broker we can start does: put User Properties
// (`subscribe-topic`, as Oktopus-style brokers do, TR-369 R-MQTT.15) or Response Information
// in the CONNACK. Built on mqtt-packet (the packet codec of mqtt.js) on a real loopback
// socket; it routes PUBLISH to every matching subscription (QoS 0 out, PUBACK for QoS 1 in),
// keeping the v5 properties (Content Type, Response Topic). Clean sessions only, no
// retained messages, no wills: enough for agents and a controller to talk through it.
import { createServer, type Server, type Socket } from 'node:net';
import { generate, parser, type IConnackPacket, type IConnectPacket, type Packet } from 'mqtt-packet';
import { filterMatches } from '../../src/usp/mtp/mqtt.js';

const HOST = '127.0.0.1';

export interface Mqtt5BrokerOptions {
  /** CONNACK properties for a client, from its CONNECT (undefined: none). */
  connack?: (connect: IConnectPacket) => IConnackPacket['properties'] | undefined;
}

interface Client {
  sock: Socket;
  id: string;
  filters: Set<string>;
}

export interface Mqtt5Broker {
  url: string;
  /** Every packet each client sent, by the client's CONNECT ClientId (or usp-endpoint-id when empty). */
  packets: Map<string, Packet[]>;
  close(): Promise<void>;
}

export async function startMqtt5Broker(o: Mqtt5BrokerOptions = {}): Promise<Mqtt5Broker> {
  const clients = new Set<Client>();
  const packets = new Map<string, Packet[]>();
  const sockets = new Set<Socket>();
  const write = (sock: Socket, pkt: Packet): void => {
    if (!sock.destroyed) sock.write(generate(pkt, { protocolVersion: 5 }));
  };
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.setNoDelay(true);
    sock.on('error', () => undefined);
    let me: Client | undefined;
    sock.on('close', () => {
      sockets.delete(sock);
      if (me) clients.delete(me);
    });
    const p = parser({ protocolVersion: 5 });
    p.on('error', () => sock.destroy());
    p.on('packet', (pkt: Packet) => {
      if (me) packets.get(me.id)!.push(pkt);
      switch (pkt.cmd) {
        case 'connect': {
          const eid = pkt.properties?.userProperties?.['usp-endpoint-id'];
          const id = pkt.clientId || (typeof eid === 'string' ? eid : `anon-${clients.size}`);
          me = { sock, id, filters: new Set() };
          clients.add(me);
          if (!packets.has(id)) packets.set(id, []);
          packets.get(id)!.push(pkt);
          const properties = o.connack?.(pkt);
          write(sock, { cmd: 'connack', sessionPresent: false, reasonCode: 0, ...(properties ? { properties } : {}) });
          break;
        }
        case 'subscribe':
          for (const s of pkt.subscriptions) me?.filters.add(s.topic);
          write(sock, { cmd: 'suback', messageId: pkt.messageId, granted: pkt.subscriptions.map(() => 0) } as Packet);
          break;
        case 'unsubscribe':
          for (const t of pkt.unsubscriptions) me?.filters.delete(t);
          write(sock, { cmd: 'unsuback', messageId: pkt.messageId, granted: pkt.unsubscriptions.map(() => 0) } as Packet);
          break;
        case 'publish': {
          if (pkt.qos === 1) write(sock, { cmd: 'puback', messageId: pkt.messageId, reasonCode: 0 } as Packet);
          const props = pkt.properties ?? {};
          const out: Packet = {
            cmd: 'publish', topic: pkt.topic, payload: pkt.payload, qos: 0, dup: false, retain: false,
            properties: { ...(props.contentType ? { contentType: props.contentType } : {}), ...(props.responseTopic ? { responseTopic: props.responseTopic } : {}) },
          };
          for (const c of clients) if ([...c.filters].some((f) => filterMatches(f, pkt.topic))) write(c.sock, out);
          break;
        }
        case 'pingreq':
          write(sock, { cmd: 'pingresp' });
          break;
        case 'disconnect':
          sock.end();
          break;
        default:
          break;
      }
    });
    sock.on('data', (d) => p.parse(d));
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return {
    url: `mqtt://${HOST}:${port}`,
    packets,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
