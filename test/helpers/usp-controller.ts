// A test USP controller speaking Records over real MQTT (TR-369 "MQTT Binding"): it subscribes
// to its own topic, decodes every Record it receives and keeps them, and sends requests
// with the reply-to of its protocol version (v5 Response Topic, 3.1.1 topic suffix).
import { connectAsync, type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import {
  decodeMsg, decodeRecord, encodeMsg, encodeRecord, type MsgInput, type Notify, type UspMsg, type UspRecord,
} from '../../src/usp/codec.js';
import { USP_CONTENT_TYPE, replyToOf, topicWithReplyTo } from '../../src/usp/mtp/mqtt.js';

export interface ControllerOptions {
  url: string;
  protocolVersion: 4 | 5;
  endpointId?: string;
  topic?: string;
  /** PEM CA for mqtts. */
  ca?: string;
  /** PEM client certificate and key, for a broker that requires one. */
  cert?: string;
  key?: string;
  connectTimeoutMs?: number;
  /**
   * A persistent session (clean start off, MQTT 5 Session Expiry Interval of this many
   * seconds) under a fixed client id: a broker that keeps sessions queues what arrives for
   * the controller while it is away, a broker restart included.
   */
  session?: { clientId: string; expirySeconds: number };
}

/** Where an agent listens. */
export interface AgentAddress {
  endpointId: string;
  topic: string;
}

export interface Received {
  record: UspRecord;
  /** The Msg of a no_session_context Record, when it decodes. */
  msg?: UspMsg;
  replyTo: string | undefined;
  topic: string;
  /** v5 Content Type of the PUBLISH (undefined on 3.1.1 or when absent). */
  contentType: string | undefined;
}

export interface Undecodable {
  topic: string;
  bytes: Uint8Array;
  error: string;
}

/** The Notify a received Record carries, if it is one. */
export const notifyOf = (r: Received | undefined): Notify | undefined =>
  r?.msg?.body.msg_body === 'request' && r.msg.body.request.req_type === 'notify' ? r.msg.body.request.notify : undefined;

/** Matches a Notify for subscription `subId` (and `pred`, when given). */
export const isNotify =
  (subId: string, pred: (n: Notify) => boolean = () => true) =>
  (r: Received): boolean => {
    const n = notifyOf(r);
    return n !== undefined && n.subscription_id === subId && pred(n);
  };

type Waiter = { pred: (r: Received) => boolean; resolve: (r: Received) => void; reject: (e: Error) => void };

const DEFAULT_TIMEOUT_MS = 5000;

export class TestController {
  /** Every Record received, in order. */
  readonly received: Received[] = [];
  /** When each of `received` arrived (Date.now()), same order. */
  readonly receivedAt: number[] = [];
  /** Payloads that were not a Record. */
  readonly undecodable: Undecodable[] = [];
  private readonly waiters = new Set<Waiter>();
  private readonly listeners: Array<(r: Received) => void> = [];
  private nextId = 0;
  private stopped = false;

  private constructor(
    private readonly client: MqttClient,
    readonly endpointId: string,
    readonly topic: string,
    readonly protocolVersion: 4 | 5,
  ) {
    client.on('message', (t, payload, packet) => this.onMessage(t, payload, packet));
  }

  /** Call `fn` with every Record as it arrives (e.g. to answer Notifies). */
  onReceive(fn: (r: Received) => void): void {
    this.listeners.push(fn);
  }

  /** Connected to the broker right now (it reconnects by itself after an outage). */
  get connected(): boolean {
    return this.client.connected;
  }

  static async start(o: ControllerOptions): Promise<TestController> {
    const endpointId = o.endpointId ?? 'self::usp-controller';
    const topic = o.topic ?? '/usp/controller';
    const connectTimeout = o.connectTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    const options: IClientOptions = {
      protocolVersion: o.protocolVersion,
      clientId: o.session?.clientId ?? `ctl-${process.pid}-${Math.random().toString(16).slice(2, 10)}`,
      clean: o.session === undefined,
      ...(o.session !== undefined && o.protocolVersion === 5 ? { properties: { sessionExpiryInterval: o.session.expirySeconds } } : {}),
      keepalive: 30,
      connectTimeout,
      // Reconnects by itself (and resubscribes), so broker-outage tests keep one controller.
      reconnectPeriod: 200,
    };
    if (o.ca !== undefined) options.ca = o.ca;
    if (o.cert !== undefined && o.key !== undefined) Object.assign(options, { cert: o.cert, key: o.key });
    let client: MqttClient;
    try {
      client = await connectAsync(o.url, options);
    } catch (err) {
      throw new Error(`TestController: cannot connect to ${o.url} (MQTT ${o.protocolVersion === 5 ? '5' : '3.1.1'}): ${(err as Error).message}`);
    }
    client.on('error', () => undefined);
    const ctl = new TestController(client, endpointId, topic, o.protocolVersion);
    // 3.1.1 replies carry the reply-to in the topic, so `<topic>/#` as well (TR-369 R-MQTT.24).
    const filters = o.protocolVersion === 5 ? [topic] : [topic, `${topic}/#`];
    try {
      await withTimeout(client.subscribeAsync(filters, { qos: 1 }), connectTimeout, `SUBACK for ${filters.join(', ')}`);
    } catch (err) {
      await ctl.stop();
      throw err;
    }
    return ctl;
  }

  /**
   * Send a request (or any Msg body) to `agent` and resolve with the response or Error Msg
   * whose msg_id matches.
   */
  async request(agent: AgentAddress, body: MsgInput['body'], opts: { msgId?: string; timeoutMs?: number } = {}): Promise<UspMsg> {
    const msgId = opts.msgId ?? `ctl-${++this.nextId}`;
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const answer = this.waitFor(
      (r) =>
        r.record.from_id === agent.endpointId &&
        r.msg?.header.msg_id === msgId &&
        (r.msg.body.msg_body === 'response' || r.msg.body.msg_body === 'error'),
      timeoutMs,
      `the answer to msg_id ${msgId} from ${agent.endpointId}`,
    );
    answer.catch(() => undefined); // a failed send below rejects first; the answer's fate is then moot
    await this.sendMsg(agent, { header: { msg_id: msgId }, body });
    return (await answer).msg!;
  }

  /** Answer a Notify (send_resp = true) with a NotifyResp carrying its msg_id. */
  async notifyResp(agent: AgentAddress, subscriptionId: string, msgId: string): Promise<void> {
    await this.sendMsg(agent, { header: { msg_id: msgId }, body: { response: { notify_resp: { subscription_id: subscriptionId } } } });
  }

  /** Wrap `msg` in a no_session_context Record to `agent` and publish it with our reply-to. */
  async sendMsg(agent: AgentAddress, msg: MsgInput): Promise<void> {
    const record = encodeRecord({
      version: '1.3',
      to_id: agent.endpointId,
      from_id: this.endpointId,
      record_type: 'no_session_context',
      no_session_context: { payload: encodeMsg(msg) },
    });
    await this.sendRecordBytes(agent.topic, record);
  }

  /** Publish Record bytes to `topic` with our reply-to, as the version requires. */
  async sendRecordBytes(topic: string, bytes: Uint8Array): Promise<void> {
    if (this.protocolVersion === 5) {
      await this.sendRaw(topic, bytes, { properties: { contentType: USP_CONTENT_TYPE, responseTopic: this.topic } });
    } else {
      await this.sendRaw(topicWithReplyTo(topic, this.topic), bytes);
    }
  }

  /** Publish arbitrary bytes: no reply-to added (for malformed-input tests). */
  async sendRaw(topic: string, bytes: Uint8Array, opts: { qos?: 0 | 1; properties?: IPublishPacket['properties'] } = {}): Promise<void> {
    const publishOpts: { qos: 0 | 1; properties?: IPublishPacket['properties'] } = { qos: opts.qos ?? 1 };
    if (opts.properties && this.protocolVersion === 5) publishOpts.properties = opts.properties;
    await withTimeout(
      this.client.publishAsync(topic, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), publishOpts),
      DEFAULT_TIMEOUT_MS,
      `publishing to ${topic}`,
    );
  }

  /** The first received Record (already received or still to come) matching `pred`. */
  waitFor(pred: (r: Received) => boolean, timeoutMs = DEFAULT_TIMEOUT_MS, what = 'a matching Record'): Promise<Received> {
    const past = this.received.find(pred);
    if (past) return Promise.resolve(past);
    if (this.stopped) return Promise.reject(new Error(`TestController: stopped while waiting for ${what}`));
    return new Promise((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const waiter: Waiter = {
        pred,
        resolve: (r) => {
          settle();
          resolve(r);
        },
        reject: (e) => {
          settle();
          reject(e);
        },
      };
      const timer = setTimeout(
        () => waiter.reject(new Error(`TestController: no ${what} within ${timeoutMs} ms; received: ${this.summary()}`)),
        timeoutMs,
      );
      this.waiters.add(waiter);
    });
  }

  /**
   * A Record to our own topic, back through the broker: once one is here, the broker has
   * our subscriptions in place (a reconnect's resubscription included). mqtt.js may send
   * a publish made right after a reconnect ahead of its SUBSCRIBE, so a lost one is sent
   * again (bounded).
   */
  async roundTrip(attempts = 5, eachMs = 1000): Promise<void> {
    for (let i = 1; ; i++) {
      const msgId = `self-${++this.nextId}`;
      const back = this.waitFor((r) => r.record.from_id === this.endpointId && r.msg?.header.msg_id === msgId, eachMs, `our own Record ${msgId} back from the broker`);
      back.catch(() => undefined);
      await this.sendMsg({ endpointId: this.endpointId, topic: this.topic }, { header: { msg_id: msgId }, body: { request: { get: { param_paths: ['Device.'] } } } });
      try {
        await back;
        return;
      } catch (e) {
        if (i >= attempts) throw e;
      }
    }
  }

  /** Received items, one per line-ish, for failure messages. */
  summary(): string {
    if (this.received.length === 0 && this.undecodable.length === 0) return '(nothing)';
    const items = this.received.map((r) =>
      r.msg ? `${r.record.from_id} ${r.msg.header.msg_type}#${r.msg.header.msg_id}` : `${r.record.from_id} <${r.record.record_type}>`,
    );
    if (this.undecodable.length) items.push(`${this.undecodable.length} undecodable`);
    return items.join(', ');
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const w of [...this.waiters]) w.reject(new Error('TestController: stopped while waiting'));
    await withTimeout(this.client.endAsync(true), DEFAULT_TIMEOUT_MS, 'closing the controller').catch(() => undefined);
  }

  private onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    // Decoded bytes are views into the input: keep a copy.
    const bytes = new Uint8Array(payload);
    const rec = decodeRecord(bytes);
    if (!rec.ok) {
      this.undecodable.push({ topic, bytes, error: rec.error.message });
      return;
    }
    const v5 = this.protocolVersion === 5;
    const item: Received = {
      record: rec.value,
      replyTo: v5 ? (packet.properties?.responseTopic ?? replyToOf(topic)) : replyToOf(topic),
      topic,
      contentType: v5 ? packet.properties?.contentType : undefined,
    };
    if (rec.value.record_type === 'no_session_context') {
      const msg = decodeMsg(rec.value.no_session_context.payload);
      if (msg.ok) item.msg = msg.value;
    }
    this.received.push(item);
    this.receivedAt.push(Date.now());
    for (const l of this.listeners) l(item);
    for (const w of [...this.waiters]) if (w.pred(item)) w.resolve(item);
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`TestController: timed out after ${ms} ms ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
