import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { checkClients } from '../../../lib/clients/check-client.js';
import { ClientChangeError } from '../../../lib/clients/client-change-error.js';
import {
  ClientsFileError,
  clientsFileRefusal,
  elementStarts,
  parseClientsFile,
  readClientsFile,
} from '../../../lib/clients/clients-file.js';

const SECRET = 'tok-secret-0123456789abcdef';

function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

describe('clients: the clients file', () => {
  it('reads a JSON array of clients', () => {
    const dir = mkdtempSync(join(tmpdir(), 'msb-clients-'));
    const path = join(dir, 'clients.json');
    writeFileSync(path, JSON.stringify([{ name: 'ci', token: SECRET }]));
    expect(readClientsFile(path)).to.deep.equal([{ name: 'ci', token: SECRET }]);
    expect(thrown(() => readClientsFile(join(dir, 'none.json'))).message).to.include('cannot be read (ENOENT)');
  });

  it('refuses an empty file, JSON that is not, and anything but an array, naming the line, never the text', () => {
    expect(thrown(() => parseClientsFile(' \n', 'c.json')).message).to.include('is empty');
    const broken = `[\n  { "name": "ci",\n    "token": "${SECRET}" \n    "dailyRequests": 3 }\n]`;
    const error = thrown(() => parseClientsFile(broken, 'c.json'));
    expect(error).to.be.instanceOf(ClientsFileError);
    expect(error.message).to.match(/^clients file c\.json(, line 4)?: is not valid JSON/);
    expect(error.message).not.to.include(SECRET.slice(0, 12));
    expect(thrown(() => parseClientsFile('{"name":"ci"}', 'c.json')).message).to.include('must be a JSON array');
  });

  it('names the line of the client a rule refused, and the field', () => {
    const text =
      `[\n  { "name": "a", "token": "${SECRET}" },\n  {\n    "name": "b",\n    "token": "${SECRET}x",\n` +
      '    "maxInFlight": 0\n  }\n]\n';
    const error = thrown(() => checkClients(parseClientsFile(text, 'c.json'), () => undefined));
    expect(error).to.be.instanceOf(ClientChangeError);
    const refusal = clientsFileRefusal(error as ClientChangeError, text, 'c.json');
    expect(refusal.line).to.equal(3);
    expect(refusal.message).to.match(
      /^clients file c\.json, line 3: `clients\[1\]\.maxInFlight` must be a whole number/,
    );
    expect(refusal.message).not.to.include(SECRET.slice(0, 12));
  });

  it('finds where each element starts, brackets and commas in strings aside', () => {
    expect(elementStarts('[{"a":"],{["},\n\n {"b":1},\n"x"]')).to.deep.equal([1, 3, 4]);
    expect(elementStarts('[]')).to.deep.equal([]);
  });
});
