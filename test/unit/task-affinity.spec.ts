import { expect } from 'chai';
import type { PoolEntry } from '../../lib/pool/pool-entry.js';
import { polledTaskId, submittedTaskId } from '../../lib/engine/task-ids.js';
import { TaskAffinity } from '../../lib/pool/task-affinity.js';

const entry = (index: number) => ({ label: `k${index}` }) as unknown as PoolEntry;

describe('async task affinity', () => {
  it('remembers which key submitted a task until it expires', () => {
    const tasks = new TaskAffinity(10, 1000);
    tasks.remember('t1', entry(2), 0);
    expect(tasks.lookup('t1', 999)?.label).to.equal('k2');
    expect(tasks.lookup('t1', 1000)).to.equal(undefined);
    expect(tasks.size).to.equal(0);
  });

  it('forgets the oldest task beyond maxEntries', () => {
    const tasks = new TaskAffinity(2, 1000);
    tasks.remember('a', entry(0), 0);
    tasks.remember('b', entry(1), 0);
    tasks.remember('c', entry(2), 0);
    expect(tasks.size).to.equal(2);
    expect(tasks.lookup('a', 1)).to.equal(undefined);
    expect(tasks.lookup('c', 1)?.label).to.equal('k2');
  });

  it('recognises polls and submissions, and nothing else', () => {
    expect(polledTaskId('GET', '/v1/tasks/abc-123')).to.equal('abc-123');
    expect(polledTaskId('GET', '/v1/tasks/a%20b')).to.equal('a b');
    expect(polledTaskId('POST', '/v1/tasks/abc')).to.equal(undefined);
    expect(polledTaskId('GET', '/v1/tasks/abc/extra')).to.equal(undefined);
    expect(polledTaskId('GET', '/v1/tasks/%E0%A4%A')).to.equal(undefined);
    expect(submittedTaskId(Buffer.from('{"task_id":"t-9"}'))).to.equal('t-9');
    expect(submittedTaskId(Buffer.from('{"task_id":42}'))).to.equal(undefined);
    expect(submittedTaskId(Buffer.from('not json'))).to.equal(undefined);
  });
});
