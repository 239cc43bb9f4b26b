// Who sent a request: the token it presented, looked up by its SHA-256 digest in a map (one hash and one lookup
// whatever the number of clients), then compared with the stored digest in constant time. Unnamed `accessTokens`
// are clients too, all under the name 'anonymous' and without limits. Tokens are never kept, only digests.
import { timingSafeEqual } from 'node:crypto';
import { ANONYMOUS, type CheckedClient, type CheckedLimits } from './check-client.js';
import { ClientChangeError } from './client-change-error.js';
import { ClientEntry } from './client-entry.js';
import { tokenDigest } from './token-digest.js';

/** Who presented a token: a named client (with its entry), or an unnamed access token. */
export interface Identity {
  readonly name: string;
  /** The named client; undefined for an access token (no limits). */
  readonly entry?: ClientEntry;
}

interface Holder {
  digest: Buffer;
  identity: Identity;
}

/** What a replacement of every client changed, by name. */
export interface ClientsChange {
  added: string[];
  removed: string[];
  changed: string[];
  kept: string[];
}

export class ClientRegistry {
  private readonly byDigest = new Map<string, Holder>();
  private readonly byName = new Map<string, ClientEntry>();
  private readonly anonymous: Identity = { name: ANONYMOUS };

  constructor(
    clients: readonly CheckedClient[],
    accessTokens: readonly string[],
    private readonly now: () => number,
  ) {
    for (const token of accessTokens) {
      const digest = tokenDigest(token);
      this.byDigest.set(digest.toString('base64'), { digest, identity: this.anonymous });
    }
    for (const client of clients) this.insert(client);
  }

  /** The client whose token `token` is, or undefined (no token, or one nobody has). */
  identify(token: string | undefined): Identity | undefined {
    if (token === undefined) return undefined;
    const digest = tokenDigest(token);
    const holder = this.byDigest.get(digest.toString('base64'));
    // The map found it by the digest; the constant-time comparison is the check that decides.
    return holder && timingSafeEqual(holder.digest, digest) ? holder.identity : undefined;
  }

  /** Whose token `token` is, as the end of "the token is …", or undefined: for the checks of a new token. */
  holderOf(token: string): string | undefined {
    const holder = this.byDigest.get(tokenDigest(token).toString('base64'));
    if (!holder) return undefined;
    return holder.identity.entry ? `the token of client '${holder.identity.name}'` : 'one of the access tokens';
  }

  get(name: string): ClientEntry | undefined {
    return this.byName.get(name);
  }

  /** Every named client, in the order they were added. */
  list(): ClientEntry[] {
    return [...this.byName.values()];
  }

  get size(): number {
    return this.byName.size;
  }

  add(client: CheckedClient): ClientEntry {
    if (this.byName.has(client.name))
      throw new ClientChangeError(
        'ERR_MSB_CLIENT_EXISTS',
        'name',
        `'${client.name}' is taken: remove that client first, or change its limits (PATCH).`,
      );
    if (this.byDigest.has(client.digest.toString('base64')))
      throw new ClientChangeError(
        'ERR_MSB_CLIENT_TOKEN_TAKEN',
        'token',
        'is taken: give the client a token of its own.',
      );
    return this.insert(client);
  }

  update(name: string, limits: CheckedLimits): ClientEntry {
    const entry = this.entryNamed(name);
    entry.setLimits(limits, this.now());
    return entry;
  }

  remove(name: string): ClientEntry {
    const entry = this.entryNamed(name);
    this.byName.delete(name);
    this.byDigest.delete(entry.digest.toString('base64'));
    entry.removed = true;
    return entry;
  }

  /**
   * Every named client replaced by `clients` (a clients file read again), checked as a whole already: kept ones keep
   * their state (requests under way, the minute's bucket) with their new limits; a kept name with a new token is
   * the same client with a new token.
   */
  replace(clients: readonly CheckedClient[]): ClientsChange {
    const change: ClientsChange = { added: [], removed: [], changed: [], kept: [] };
    const old = new Map(this.byName);
    for (const entry of old.values()) this.byDigest.delete(entry.digest.toString('base64'));
    this.byName.clear();
    for (const client of clients) {
      const before = old.get(client.name);
      old.delete(client.name);
      if (!before) {
        this.insert(client);
        change.added.push(client.name);
        continue;
      }
      const sameToken = before.digest.equals(client.digest);
      const sameLimits = JSON.stringify(limitsShown(before.limits)) === JSON.stringify(limitsShown(client.limits));
      before.rekey(client.digest);
      before.setLimits(client.limits, this.now());
      this.link(before);
      (sameToken && sameLimits ? change.kept : change.changed).push(client.name);
    }
    for (const entry of old.values()) entry.removed = true;
    change.removed.push(...old.keys());
    return change;
  }

  private entryNamed(name: string): ClientEntry {
    const entry = this.byName.get(name);
    if (!entry)
      throw new ClientChangeError('ERR_MSB_CLIENT_NOT_FOUND', 'name', `no client is named ${JSON.stringify(name)}.`);
    return entry;
  }

  private insert(client: CheckedClient): ClientEntry {
    return this.link(new ClientEntry(client.name, client.digest, client.limits, this.now()));
  }

  private link(entry: ClientEntry): ClientEntry {
    this.byName.set(entry.name, entry);
    this.byDigest.set(entry.digest.toString('base64'), { digest: entry.digest, identity: { name: entry.name, entry } });
    return entry;
  }
}

/** A client's limits as JSON shows them (models as a list). */
export function limitsShown(limits: CheckedLimits): Record<string, number | string[] | null> {
  return {
    dailyRequests: limits.dailyRequests ?? null,
    requestsPerMinute: limits.requestsPerMinute ?? null,
    maxInFlight: limits.maxInFlight ?? null,
    models: limits.models ? [...limits.models] : null,
  };
}
