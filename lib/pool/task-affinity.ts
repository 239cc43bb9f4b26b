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

const TASK_PATH = /^\/v1\/tasks\/([^/?#]+)$/;

/** The task id of a `GET /v1/tasks/{id}` poll (a URL relative to the mount point, query allowed), else undefined. */
export function polledTaskId(method: string, url: string): string | undefined {
  if (method !== 'GET') return undefined;
  const queryAt = url.indexOf('?');
  const match = TASK_PATH.exec(queryAt === -1 ? url : url.slice(0, queryAt));
  if (!match) return undefined;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return undefined;
  }
}

/** The `task_id` in a JSON answer to an async submission, else undefined. */
export function submittedTaskId(body: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { task_id?: unknown } | null;
    const id = parsed?.task_id;
    return typeof id === 'string' && id.length > 0 && id.length <= 200 ? id : undefined;
  } catch {
    return undefined;
  }
}
