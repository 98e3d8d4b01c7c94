// pino, as JSON or one readable line per record (--log-format; text by default on a terminal).
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export type { Logger };

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

function textStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        try {
          const { level, time, msg, pid: _pid, hostname: _h, ...rest } = JSON.parse(line) as Record<string, unknown>;
          const extra = Object.entries(rest)
            .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
            .join(' ');
          out.write(`${new Date(time as number).toISOString()} ${LEVELS[level as number] ?? level} ${msg ?? ''}${extra ? ` ${extra}` : ''}\n`);
        } catch {
          out.write(`${line}\n`);
        }
      }
      cb();
    },
  });
}

export function createLogger(level: string, format: 'json' | 'text', bindings: Record<string, unknown> = {}): Logger {
  const opts = { level, base: bindings };
  return format === 'text' ? pino(opts, textStream(process.stderr)) : pino(opts, pino.destination({ dest: 2, sync: true }));
}
