// What a shard measured since its last sample, for the scenario engine, the report and the
// live page (ShardSample): latency histograms fed from the diagnostics channels (every CWMP
// exchange and session, every USP request) and power-on-to-ready from the table. Shard
// threads each own one recorder; per-shard objects only, nothing per CPE.
import { messageChannel, sessionChannel, type MessageEvent, type SessionEvent } from '../cwmp/diagnostics.js';
import { uspRequestChannel, type UspRequestEvent } from '../usp/diagnostics.js';
import { ChannelSubscriptions } from '../util/channels.js';
import { LogHistogram, type HistogramWire } from '../util/loghist.js';

export class Recorder {
  private readonly acs = new Map<string, LogHistogram>();
  private readonly session = new LogHistogram();
  private readonly ready = new LogHistogram();
  private readonly usp = new Map<string, LogHistogram>();
  uspOk = 0;
  uspError = 0;
  private readonly subs = new ChannelSubscriptions();

  constructor() {
    // Answered exchanges only (any HTTP status): one that got no answer is a failed session, counted by its reason.
    this.subs.on<MessageEvent>(messageChannel, (m) => {
      if (m.status > 0) this.hist(this.acs, m.sent).record(m.seconds * 1000);
    });
    this.subs.on<SessionEvent>(sessionChannel, (e) => this.session.record(e.seconds * 1000));
    this.subs.on<UspRequestEvent>(uspRequestChannel, (e) => {
      this.hist(this.usp, e.msgType).record(e.seconds * 1000);
      if (e.result === 'success') this.uspOk++;
      else this.uspError++;
    });
  }

  private hist(map: Map<string, LogHistogram>, key: string): LogHistogram {
    let h = map.get(key);
    if (!h) map.set(key, (h = new LogHistogram()));
    return h;
  }

  /** A CPE became ready `ms` after it powered on. */
  readyAfter(ms: number): void {
    this.ready.record(ms);
  }

  /** The histograms since the last drain; they start empty again. */
  drain(): { acsResponseMs: Record<string, HistogramWire>; sessionMs: HistogramWire; readyMs: HistogramWire; uspRttMs: Record<string, HistogramWire> } {
    const all = (map: Map<string, LogHistogram>) => {
      const out: Record<string, HistogramWire> = {};
      for (const [k, h] of map) if (h.count > 0) out[k] = h.drain();
      return out;
    };
    return { acsResponseMs: all(this.acs), sessionMs: this.session.drain(), readyMs: this.ready.drain(), uspRttMs: all(this.usp) };
  }

  close(): void {
    this.subs.close();
  }
}
