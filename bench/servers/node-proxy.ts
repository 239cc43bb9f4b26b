import http from 'node:http';
import { announce, arg, benchKeys } from './common.js';

/** For reference: the least a node:http proxy can do (keep-alive agent, no framework, no checks). */
const target = new URL(arg('target'));
const key = benchKeys(1)[0];
const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });
const server = http.createServer((req, res) => {
  const upstream = http.request(
    {
      hostname: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      agent,
      headers: { ...req.headers, host: target.host, authorization: `Bearer ${key}` },
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', () => res.destroy());
  req.pipe(upstream);
});
server.listen(0, '127.0.0.1', () => announce(server));
