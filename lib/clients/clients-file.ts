// The clients file of the standalone server: a JSON array of clients (the `clients` option's objects), read at start
// and again on SIGHUP or when it changes, and applied whole or not at all. An error names the file, the line and the
// field, and never quotes the file's text (it holds tokens): not even the JSON parser's message, which does.
import { readFileSync } from 'node:fs';
import { ClientChangeError } from './client-change-error.js';

/** A clients file that cannot be used as it is; nothing was applied. */
export class ClientsFileError extends Error {
  constructor(
    readonly path: string,
    /** The 1-based line the problem is on, when it could be told. */
    readonly line: number | undefined,
    problem: string,
  ) {
    super(`clients file ${path}${line === undefined ? '' : `, line ${line}`}: ${problem}`);
    this.name = 'ClientsFileError';
  }
}

/** The file's text, or a ClientsFileError naming only the error's code (a path may be shown, the text never). */
export function readClientsText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ClientsFileError(path, undefined, `cannot be read (${code}).`);
  }
}

/** The file's list of clients, parsed but not checked (`checkClients` does that, naming `clients[i].field`). */
export function readClientsFile(path: string): unknown[] {
  return parseClientsFile(readClientsText(path), path);
}

export function parseClientsFile(text: string, path: string): unknown[] {
  if (text.trim() === '') throw new ClientsFileError(path, undefined, 'is empty (being written?); nothing applied.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const position = /position (\d+)/.exec((error as Error).message);
    const line = position ? lineAt(text, Number(position[1])) : undefined;
    throw new ClientsFileError(path, line, 'is not valid JSON (`jq . <file>` shows where); nothing applied.');
  }
  if (!Array.isArray(parsed))
    throw new ClientsFileError(path, 1, 'must be a JSON array of clients, such as [{ "name": "ci", "token": "…" }].');
  return parsed;
}

/** A refusal of the file's clients (`clients[3].dailyRequests` …) as an error naming the line of that client. */
export function clientsFileRefusal(error: ClientChangeError, text: string, path: string): ClientsFileError {
  const index = /^clients\[(\d+)\]/.exec(error.field);
  const starts = elementStarts(text);
  const line = index ? starts[Number(index[1])] : undefined;
  return new ClientsFileError(path, line, `\`${error.field}\` ${error.problem}`);
}

/** The 1-based line of character `offset`. */
function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 0x0a) line++;
  return line;
}

/** The line each element of a top-level JSON array starts on (strings skipped, so brackets in them do not count). */
export function elementStarts(text: string): number[] {
  const starts: number[] = [];
  let depth = 0;
  let line = 1;
  let expectElement = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') line++;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') continue;
    if (depth === 1 && expectElement && c !== ']') {
      starts.push(line);
      expectElement = false;
    }
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (c === '[' || c === '{') {
      depth++;
      if (depth === 1) expectElement = true;
    } else if (c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 1) expectElement = true;
  }
  return starts;
}

export { ClientChangeError };
