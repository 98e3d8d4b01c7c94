// The bench's minimal ACS (bench/acs-process.ts) run as a child process, seen from the bench.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface AcsStats {
  informs: number;
  bootstraps: number;
  /** Informs with 2 PERIODIC among their events. */
  periodics: number;
  /** Informs with a RetryCount other than 0. */
  retried: number;
  samples: { bootstrap?: string[]; periodic?: string[] };
}

/** The minimal ACS in a child process: its URL, and its counts on demand. */
export class AcsProcess {
  private constructor(
    readonly url: string,
    private readonly child: ChildProcess,
    private readonly lines: Interface,
  ) {}

  static async start(): Promise<AcsProcess> {
    const child = spawn(process.execPath, [fileURLToPath(new URL('./acs-process.js', import.meta.url))], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout! });
    const url = await new Promise<string>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`bench: the ACS process exited (${code}) before listening`)));
      lines.once('line', (l) => (l.startsWith('URL ') ? resolve(l.slice(4)) : reject(new Error(`bench: the ACS process said ${l}`))));
    });
    return new AcsProcess(url, child, lines);
  }

  stats(): Promise<AcsStats> {
    return new Promise((resolve, reject) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        reject(new Error(`bench: the ACS process has exited (${this.child.exitCode ?? this.child.signalCode})`));
        return;
      }
      const timer = setTimeout(() => reject(new Error('bench: the ACS process did not answer "stats" within 30 s')), 30_000);
      this.lines.once('line', (l) => {
        clearTimeout(timer);
        resolve(JSON.parse(l) as AcsStats);
      });
      this.child.stdin!.write('stats\n');
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin!.end();
    await exited;
  }
}
