import type { PoolEntry } from './pool-entry.js';

/**
 * Which key submitted each async task (image generation): ModelScope only
 * answers `GET /v1/tasks/{id}` to the key that created the task. Bounded and
 * expiring, so a busy day can't grow it without limit.
 */
export class TaskAffinity {
  private readonly tasks = new Map<string, { entry: PoolEntry; expires: number }>();

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
  ) {}

  remember(taskId: string, entry: PoolEntry, now: number): void {
    this.tasks.delete(taskId);
    if (this.tasks.size >= this.maxEntries) this.tasks.delete(this.tasks.keys().next().value as string);
    this.tasks.set(taskId, { entry, expires: now + this.ttlMs });
  }

  lookup(taskId: string, now: number): PoolEntry | undefined {
    const found = this.tasks.get(taskId);
    if (!found) return undefined;
    if (now >= found.expires) {
      this.tasks.delete(taskId);
      return undefined;
    }
    return found.entry;
  }

  get size(): number {
    return this.tasks.size;
  }
}
