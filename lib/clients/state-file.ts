// The day's usage kept across a restart (the standalone server's `state_file`; the middleware's `stateFile`): written
// every few seconds when it changed and once at shutdown, atomically (a temporary file renamed over the old one), so
// a crash mid-write leaves the previous state, never half of one. Read once at start; a file that is not a state is
// skipped with one warning, never fatal.
import { readFileSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import type { Logger } from '../observe/logger.js';

export interface StateFileOptions {
  /** Where the state is kept. Required. */
  path: string;
  /** The state to write now (JSON-serialisable). */
  read(): unknown;
  logger: Logger;
  /** Time between writes (only when something changed). Defaults to 5 000 ms. */
  intervalMs?: number;
  /** A state not worth a new file (nothing counted yet): no file is made for it. Defaults to none. */
  isEmpty?(state: unknown): boolean;
}

export class StateFile {
  private timer: NodeJS.Timeout | undefined;
  private lastWritten: string | undefined;
  private writing: Promise<void> = Promise.resolve();
  private warned = false;

  constructor(private readonly options: StateFileOptions) {}

  /** The state saved last time, or undefined (no file yet, or one that is not JSON: warned once). */
  load(): unknown {
    let text: string;
    try {
      text = readFileSync(this.options.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.warn('cannot be read', error);
      return undefined;
    }
    try {
      const state: unknown = JSON.parse(text);
      this.lastWritten = text;
      return state;
    } catch {
      this.options.logger.warn({ path: this.options.path }, 'state file is not JSON: starting with no usage of today');
      return undefined;
    }
  }

  /** Writes every `intervalMs` from now on (the timer keeps no process alive). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.save(), this.options.intervalMs ?? 5_000);
    this.timer.unref();
  }

  /** Stops the writes and writes once more (at shutdown). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.save();
  }

  /** Writes the state now if it changed since the last write; one write at a time. */
  save(): Promise<void> {
    this.writing = this.writing.then(() => this.write());
    return this.writing;
  }

  private async write(): Promise<void> {
    const state = this.options.read();
    const text = JSON.stringify(state);
    if (text === this.lastWritten) return;
    if (this.lastWritten === undefined && this.options.isEmpty?.(state)) return;
    const { path } = this.options;
    const temporary = `${path}.${process.pid}.tmp`;
    try {
      const file = await open(temporary, 'w', 0o600);
      try {
        await file.writeFile(text);
        await file.datasync();
      } finally {
        await file.close();
      }
      await rename(temporary, path);
      this.lastWritten = text;
      this.warned = false;
    } catch (error) {
      await rm(temporary, { force: true }).catch(() => {});
      this.warn('cannot be written', error);
    }
  }

  /** One warning until a write succeeds again: a full disk must not flood the log. */
  private warn(what: string, error: unknown): void {
    if (this.warned) return;
    this.warned = true;
    this.options.logger.warn(
      { path: this.options.path, code: (error as NodeJS.ErrnoException).code },
      `state file ${what}: usage of today is kept in memory only`,
    );
  }
}
