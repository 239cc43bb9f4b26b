import http from 'node:http';
import express from 'express';
import { createProxyMiddleware, fixRequestBody } from 'http-proxy-middleware';
import { announce, arg, benchKeys } from './common.js';

/** The floor: http-proxy-middleware in a bare Express app, one fixed key, a keep-alive agent. */
const key = benchKeys(1)[0];
const app = express();
app.use(
  createProxyMiddleware({
    target: arg('target'),
    changeOrigin: true,
    agent: new http.Agent({ keepAlive: true, maxSockets: 1024 }),
    on: {
      proxyReq(proxyReq, req) {
        proxyReq.setHeader('authorization', `Bearer ${key}`);
        fixRequestBody(proxyReq, req);
      },
    },
  }),
);
const server = app.listen(0, '127.0.0.1', () => announce(server));
