/** Shared by the benchmark's server processes: argv parsing and the READY handshake. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export function arg(name: string, fallback = ''): string {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : process.argv[index + 1];
}

/** Tells the parent the port, then serves until killed. */
export function announce(server: Server): void {
  process.stdout.write(`READY ${(server.address() as AddressInfo).port}\n`);
  process.on('SIGTERM', () => process.exit(0));
}

/** Keys for the benchmark: never real ones. */
export function benchKeys(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `ms-be0c0000-aaaa-4bbb-8ccc-${i.toString(16).padStart(12, '0')}`);
}

/** A key the bench upstream always answers 429: requests that start on it measure a failover. */
export const FAILOVER_KEY = 'ms-fa110000-aaaa-4bbb-8ccc-000000000000';
