// Subscriptions to node:diagnostics_channel channels, undone together: each thread's
// metrics and each shard's recorder subscribe to the protocol channels this way.
import type { Channel } from 'node:diagnostics_channel';

export class ChannelSubscriptions {
  private readonly handlers: Array<[Channel, (m: unknown) => void]> = [];

  /** Call `fn` with each message published on `ch` (typed as the channel's publisher sends it). */
  on<T>(ch: Channel, fn: (m: T) => void): void {
    const h = (m: unknown) => fn(m as T);
    ch.subscribe(h);
    this.handlers.push([ch, h]);
  }

  close(): void {
    for (const [ch, h] of this.handlers.splice(0)) ch.unsubscribe(h);
  }
}
