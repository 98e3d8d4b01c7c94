// One status line at the bottom of a terminal, redrawn in place (log-update does the erasing
// and redrawing). Everything else written to the terminal meanwhile (the text log of the
// main thread, the shards' log lines piped from their threads, stdout when it is the same
// terminal) goes above it: the line is erased, the complete lines written, the line drawn
// again, so neither is garbled.
import { StringDecoder } from 'node:string_decoder';
import { createLogUpdate } from 'log-update';

type Render = ReturnType<typeof createLogUpdate>;
type WriteCallback = (err?: Error | null) => void;

export class LiveLine {
  private readonly render: Render;
  private text = '';
  private drawn = false;
  private stopped = false;
  private redraw: NodeJS.Immediate | undefined;
  private readonly restores: Array<() => void> = [];

  /**
   * Draw on `out` (a TTY); the writes to `out` and to each of `also` that is a TTY too go
   * above the line until stop().
   */
  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    also: NodeJS.WriteStream[] = [process.stdout],
  ) {
    const write = out.write.bind(out) as (s: string) => boolean;
    // A terminal whose size is not known (a pty opened by `script` without a terminal above
    // it reports 0 x 0) is taken as 80 x 24: log-update draws nothing at height 0.
    const term = {
      isTTY: true,
      get columns() {
        return out.columns || 80;
      },
      get rows() {
        return out.rows || 24;
      },
      write,
    };
    // showCursor: hiding the cursor would have log-update's cursor helper install exit and
    // signal handlers (signal-exit) of its own, which re-raise a signal the CLI handles.
    this.render = createLogUpdate(term as unknown as NodeJS.WriteStream, { showCursor: true });
    this.intercept(out);
    for (const s of also) if (s !== out && s.isTTY) this.intercept(s);
  }

  /** Show `text` as the line now (cut to the terminal's width: one line, never wrapped). */
  update(text: string): void {
    if (this.stopped) return;
    const width = Math.max(10, (this.out.columns || 80) - 1);
    this.text = text.length > width ? `${text.slice(0, width - 1)}…` : text;
    this.draw();
  }

  /**
   * Stop drawing and give the streams back: the line stays as the last state (`keep`) or is
   * erased. Whatever was written since without its newline is written out.
   */
  stop(keep = true): void {
    if (this.stopped) return;
    if (this.redraw) clearImmediate(this.redraw);
    this.redraw = undefined;
    if (keep && this.text) {
      this.render(this.text);
      this.drawn = true;
    } else this.erase();
    this.render.done();
    this.stopped = true;
    for (const restore of this.restores.splice(0)) restore();
  }

  private draw(): void {
    if (this.stopped || this.text === '') return;
    this.render(this.text);
    this.drawn = true;
  }

  private erase(): void {
    if (!this.drawn) return;
    this.render.clear();
    this.drawn = false;
  }

  /** Redraw once after the writes of this turn of the event loop. */
  private later(): void {
    this.redraw ??= setImmediate(() => {
      this.redraw = undefined;
      this.draw();
    });
  }

  private intercept(stream: NodeJS.WriteStream): void {
    const original = stream.write;
    const decoder = new StringDecoder('utf8');
    let partial = '';
    const intercepted = (chunk: string | Uint8Array, encoding?: BufferEncoding | WriteCallback, cb?: WriteCallback): boolean => {
      const done = typeof encoding === 'function' ? encoding : cb;
      partial += typeof chunk === 'string' ? chunk : decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      // Only whole lines go out: a line cut in two would have the status drawn in its middle.
      const end = partial.lastIndexOf('\n');
      if (end < 0) {
        if (done) process.nextTick(done);
        return true;
      }
      const lines = partial.slice(0, end + 1);
      partial = partial.slice(end + 1);
      this.erase();
      const ok = (original as (this: NodeJS.WriteStream, s: string, cb?: WriteCallback) => boolean).call(stream, lines, done);
      this.later();
      return ok;
    };
    stream.write = intercepted as typeof stream.write;
    this.restores.push(() => {
      stream.write = original;
      const rest = partial + decoder.end();
      partial = '';
      if (rest) original.call(stream, rest);
    });
  }
}
