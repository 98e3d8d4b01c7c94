// The bench's ACS: the least work that still completes a real CWMP session over HTTP,
// so the numbers measure the simulator, not the ACS. InformResponse with the CPE's
// cwmp:ID, GetRPCMethodsResponse, then 204 with Connection: close (as GenieACS ends).
// With a campaign set, each CPE's first session after it starts gets one SetParameterValues
// of those parameters (answered on the CPE's empty POST), counted when its response comes.
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

const envelope = (ns: string, id: string | undefined, body: string) =>
  `<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:soap-enc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:cwmp="${ns}"><soap-env:Header>${
    id ? `<cwmp:ID soap-env:mustUnderstand="1">${id}</cwmp:ID>` : ''
  }</soap-env:Header><soap-env:Body>${body}</soap-env:Body></soap-env:Envelope>`;

export class MinimalAcs {
  private server: Server | undefined;
  informs = 0;
  bootstraps = 0;
  /** Informs whose events include 2 PERIODIC. */
  periodics = 0;
  /** Informs with a RetryCount other than 0: a CPE trying again after a failed session. */
  retried = 0;
  /** SetParameterValues answered with a response, and when the first and the last came (ms). */
  sets = 0;
  setFaults = 0;
  firstSetAt = 0;
  lastSetAt = 0;
  private campaign: string | undefined;
  private readonly done = new Set<string>();
  private readonly serialOf = new WeakMap<Socket, string>();
  /**
   * With capture on: the request bodies of the first bootstrap session and of the first
   * periodic session, in order (a session is one connection here: it ends with 204 + close).
   */
  readonly samples: { bootstrap?: string[]; periodic?: string[] } = {};
  private readonly bodiesOf = new WeakMap<Socket, string[]>();

  constructor(private readonly capture = false) {}

  /** Set these parameters (name, value, xsd type) once on every CPE, from its next session on. */
  startCampaign(params: Array<[string, string, string]>): void {
    const list = params.map(([n, v, t]) => `<ParameterValueStruct><Name>${n}</Name><Value xsi:type="xsd:${t}">${v}</Value></ParameterValueStruct>`).join('');
    this.campaign = `<cwmp:SetParameterValues><ParameterList soap-enc:arrayType="cwmp:ParameterValueStruct[${params.length}]">${list}</ParameterList><ParameterKey>campaign</ParameterKey></cwmp:SetParameterValues>`;
  }

  private keep(socket: Socket, body: string): void {
    const list = this.bodiesOf.get(socket) ?? [];
    this.bodiesOf.set(socket, list);
    list.push(body);
    if (body !== '') return;
    this.bodiesOf.delete(socket);
    if (list[0]?.includes('0 BOOTSTRAP')) this.samples.bootstrap ??= list;
    else if (list[0]?.includes('2 PERIODIC')) this.samples.periodic ??= list;
  }

  async listen(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const serial = this.serialOf.get(req.socket);
        if (this.capture) this.keep(req.socket, body);
        if (body.length === 0) {
          if (this.campaign && serial !== undefined && !this.done.has(serial)) {
            this.done.add(serial);
            const spv = envelope('urn:dslforum-org:cwmp-1-2', `set-${serial}`, this.campaign);
            res.writeHead(200, { 'content-type': 'text/xml; charset="utf-8"', 'content-length': String(Buffer.byteLength(spv)) }).end(spv);
            return;
          }
          res.writeHead(204, { connection: 'close' }).end();
          return;
        }
        if (body.includes('SetParameterValuesResponse>') || body.includes('<cwmp:Fault>') || body.includes('Fault>')) {
          if (body.includes('SetParameterValuesResponse>')) {
            this.sets++;
            this.lastSetAt = Date.now();
            if (this.firstSetAt === 0) this.firstSetAt = this.lastSetAt;
          } else this.setFaults++;
          res.writeHead(204, { connection: 'close' }).end();
          return;
        }
        const ns = /xmlns:cwmp="([^"]+)"/.exec(body)?.[1] ?? 'urn:dslforum-org:cwmp-1-2';
        const id = /<cwmp:ID[^>]*>([^<]*)</.exec(body)?.[1];
        let reply: string;
        if (body.includes('<cwmp:Inform>')) {
          this.informs++;
          if (body.includes('0 BOOTSTRAP')) this.bootstraps++;
          if (body.includes('2 PERIODIC')) this.periodics++;
          if (/<RetryCount>\s*[1-9]/.test(body)) this.retried++;
          if (this.campaign) this.serialOf.set(req.socket, /<SerialNumber>([^<]*)</.exec(body)?.[1] ?? '');
          reply = envelope(ns, id, '<cwmp:InformResponse><MaxEnvelopes>1</MaxEnvelopes></cwmp:InformResponse>');
        } else if (body.includes('<cwmp:GetRPCMethods')) {
          reply = envelope(ns, id, '<cwmp:GetRPCMethodsResponse><MethodList><string>Inform</string></MethodList></cwmp:GetRPCMethodsResponse>');
        } else {
          res.writeHead(204, { connection: 'close' }).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'text/xml; charset="utf-8"', 'content-length': String(Buffer.byteLength(reply)) }).end(reply);
      });
    });
    this.server.keepAliveTimeout = 5000;
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/acs`;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}
