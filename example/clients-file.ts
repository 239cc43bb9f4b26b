// The standalone server's clients file (`clients_file` / BALANCE_CLIENTS_FILE): read at start (a bad file stops
// start-up, naming the line and the field), and again on SIGHUP or when it changes, applied whole with
// `replaceClients` (kept clients keep their requests under way and their figures) or refused whole with one warning,
// the clients in force staying. No message quotes the file's text: it holds tokens.
import type { Logger as PinoLogger } from 'pino';
import { checkClients } from '../lib/clients/check-client.js';
import {
  ClientsFileError,
  clientsFileRefusal,
  parseClientsFile,
  readClientsText,
} from '../lib/clients/clients-file.js';
import { type Balancer, ClientChangeError, type ClientSpec } from '../lib/index.js';

/** The file's clients, checked by the client rules (the balancer checks them again against its keys and tokens). */
export function readClients(path: string): ClientSpec[] {
  const text = readClientsText(path);
  const clients = parseClientsFile(text, path);
  try {
    checkClients(clients, () => undefined);
  } catch (error) {
    throw error instanceof ClientChangeError ? clientsFileRefusal(error, text, path) : error;
  }
  return clients as ClientSpec[];
}

/** Reads the clients file again and applies it; false (and one warning) when it was refused. */
export function reloadClients(balancer: Balancer, path: string, logger: PinoLogger): boolean {
  let text = '';
  try {
    text = readClientsText(path);
    const change = balancer.replaceClients(parseClientsFile(text, path) as ClientSpec[]);
    logger.info(
      { added: change.added, removed: change.removed, changed: change.changed, kept: change.kept.length },
      `clients reloaded: ${change.added.length} added, ${change.removed.length} removed, ` +
        `${change.changed.length} changed, ${change.kept.length} kept`,
    );
    return true;
  } catch (error) {
    const refusal = error instanceof ClientChangeError ? clientsFileRefusal(error, text, path) : error;
    const message = refusal instanceof ClientsFileError ? refusal.message : 'clients file: the change failed';
    logger.warn({}, `clients reload refused, the current clients stay: ${message}`);
    return false;
  }
}
