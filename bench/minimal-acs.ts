// The bench's ACS: the least work that still completes a real CWMP session over HTTP,
// so the numbers measure the simulator, not the ACS. InformResponse with the CPE's
// cwmp:ID, GetRPCMethodsResponse, then 204 with Connection: close (as GenieACS ends).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const envelope = (ns: string, id: string | undefined, body: string) =>
  `<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="${ns}"><soap-env:Header>${
    id ? `<cwmp:ID soap-env:mustUnderstand="1">${id}</cwmp:ID>` : ''
  }</soap-env:Header><soap-env:Body>${body}</soap-env:Body></soap-env:Envelope>`;

export class MinimalAcs {
  private server: Server | undefined;
  informs = 0;
  bootstraps = 0;

  async listen(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (body.length === 0) {
          res.writeHead(204, { connection: 'close' }).end();
          return;
        }
        const ns = /xmlns:cwmp="([^"]+)"/.exec(body)?.[1] ?? 'urn:dslforum-org:cwmp-1-2';
        const id = /<cwmp:ID[^>]*>([^<]*)</.exec(body)?.[1];
        let reply: string;
        if (body.includes('<cwmp:Inform>')) {
          this.informs++;
          if (body.includes('0 BOOTSTRAP')) this.bootstraps++;
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
