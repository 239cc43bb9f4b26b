import type { SharedUpdate, Store, StoreHandlers } from '../../lib/index.js';

/**
 * What the replicas share. In a real store this is a database (Redis, Postgres…); here it is memory that every
 * balancer of one process sees, so the example runs anywhere.
 */
export interface Board {
  /** The latest update of each key, account and hold, as JSON text: what a replica that starts later loads. */
  state: Map<string, string>;
  /** Async task id → the fingerprint of the key that submitted it, and until when that is worth knowing. */
  tasks: Map<string, { fingerprint: string; until: number }>;
}

/**
 * A store for balancers in one process (or its worker threads): changes are written to the board and announced
 * on a BroadcastChannel, which every other store of the same name receives.
 */
export class BroadcastChannelStore implements Store {
  private channel: BroadcastChannel | undefined;

  constructor(
    private readonly board: Board,
    private readonly name = 'modelscope-balance',
  ) {}

  /** Called once, when the balancer is built: load what the others wrote, then listen for their changes. */
  init(handlers: StoreHandlers): void {
    for (const text of this.board.state.values()) this.hand(handlers, text);
    this.channel = new BroadcastChannel(this.name);
    this.channel.onmessage = (event) => this.hand(handlers, event.data);
  }

  /** Called on a request's path: never wait, never throw. */
  publish(update: SharedUpdate): void {
    const text = JSON.stringify(update);
    this.board.state.set(`${update.kind}:${update.id}`, text);
    this.channel?.postMessage(text);
  }

  rememberTask(taskId: string, fingerprint: string, ttlMs: number): void {
    this.board.tasks.set(taskId, { fingerprint, until: Date.now() + ttlMs });
  }

  async lookupTask(taskId: string): Promise<string | undefined> {
    const task = this.board.tasks.get(taskId);
    return task && task.until > Date.now() ? task.fingerprint : undefined;
  }

  /** Called once, by `balancer.close()`. */
  shutdown(): void {
    this.channel?.close();
  }

  /** Parsed, not checked: the balancer checks every value against the shape it writes, and counts what it drops. */
  private hand(handlers: StoreHandlers, text: unknown): void {
    try {
      handlers.apply(JSON.parse(String(text)));
    } catch {
      handlers.rejected('malformed');
    }
  }
}
