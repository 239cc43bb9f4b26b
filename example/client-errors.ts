// Node answers malformed requests (400), oversized headers (431) and slow
// clients (408) with a bare status line. OpenAI clients read JSON errors, so
// the server answers them in that shape instead.
import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';

const ANSWERS: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'headers_too_large', 'The request headers are too large.'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request_timeout', 'The request took too long to arrive; send it again.'],
  ERR_HTTP_HEADERS_TIMEOUT: [408, 'request_timeout', 'The request headers took too long to arrive; send them again.'],
};

/** Answers Node's client errors with an OpenAI-shaped JSON body and closes the connection. */
export function answerClientErrors(server: Server): void {
  server.on('clientError', function answerClientError(error: NodeJS.ErrnoException, socket: Duplex) {
    const busy = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
    if (error.code === 'ECONNRESET' || !socket.writable || busy) {
      socket.destroy();
      return;
    }
    const [status, code, message] = ANSWERS[error.code ?? ''] ?? [400, 'bad_request', 'The request is not valid HTTP.'];
    const body = JSON.stringify({ error: { message, type: 'invalid_request_error', code } });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
}
