// Async tasks (image generation): the id in a submission's answer, and the id a poll names. ModelScope answers
// `GET /v1/tasks/{id}` only to the key that created the task (see pool/task-affinity.ts for the memory of which).
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
