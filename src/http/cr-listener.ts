// The connection-request listener (TR-069 3.2.2): one uWS server on the main thread.
// Paths are /cr/<cpe index>/<token>; the index names the owning shard by arithmetic and
// the shard checks the token and the CPE's own Digest credentials.
import type { CrReply, CrRequest } from '../threads/messages.js';
import { listenUws, nativeUws, type UwsListener } from './uws.js';

export type CrRouter = (cpe: number, req: CrRequest) => Promise<CrReply>;

const STATUS_TEXT: Record<number, string> = {
  200: '200 OK',
  204: '204 No Content',
  401: '401 Unauthorized',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

export class CrListener {
  private listener: UwsListener | undefined;
  port = 0;

  constructor(private readonly route: CrRouter) {}

  async listen(host: string, port: number): Promise<number> {
    const uWS = nativeUws();
    const app = uWS.App();
    app.any('/*', (res, req) => {
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      const query = req.getQuery();
      const request: CrRequest = {
        method: req.getMethod().toUpperCase(),
        url: req.getUrl() + (query ? `?${query}` : ''),
        authorization: req.getHeader('authorization') || undefined,
      };
      const m = /^\/cr\/(\d{1,10})\//.exec(request.url);
      const reply: Promise<CrReply> = m ? this.route(Number(m[1]), request) : Promise.resolve({ status: 404, headers: {} });
      reply
        .catch((): CrReply => ({ status: 500, headers: {} }))
        .then((r) => {
          if (aborted) return;
          res.cork(() => {
            res.writeStatus(STATUS_TEXT[r.status] ?? String(r.status));
            for (const [k, v] of Object.entries(r.headers)) res.writeHeader(k, v);
            res.end();
          });
        });
    });
    this.listener = await listenUws(app, host, port, 'connection-request listener');
    this.port = this.listener.port;
    return this.port;
  }

  close(): void {
    this.listener?.close();
    this.listener = undefined;
  }
}
