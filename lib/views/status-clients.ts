// The status page's table of named clients: a row each, with a bar of the day's budget used, requests under way and
// tokens today. Rendered and escaped here, on the server, like the keys' rows.
import type { ClientOverview } from '../clients/client-book.js';
import { escapeHtml } from './status-page.js';

function clientRow(client: ClientOverview): string {
  const name = escapeHtml(client.name);
  const budget =
    client.dailyRequests === null
      ? `${client.requests} <span class="muted">(no daily limit)</span>`
      : `<progress max="${client.dailyRequests}" value="${client.requests}"></progress> ` +
        `<span>${client.requests} / ${client.dailyRequests}</span>`;
  const inFlight = client.maxInFlight === null ? `${client.inFlight}` : `${client.inFlight} / ${client.maxInFlight}`;
  return (
    `<tr data-client="${name}"><td data-h="client">${name}</td><td data-h="today">${budget}</td>` +
    `<td data-h="in flight">${inFlight}</td>` +
    `<td data-h="tokens">${client.promptTokens} in · ${client.completionTokens} out</td></tr>`
  );
}

/** The clients table, or '' when no client is named. */
export function renderClientsTable(clients: readonly ClientOverview[]): string {
  if (clients.length === 0) return '';
  return (
    `<h2>Clients</h2><table class="clients"><thead><tr><th>client</th><th>requests today</th><th>in flight</th>` +
    `<th>tokens today</th></tr></thead><tbody>${clients.map(clientRow).join('')}</tbody></table>`
  );
}
