// Checks made before a request body is read: the Host allow-list (without an API key: DNS rebinding),
// JSON-only POSTs (blind cross-site form posts cannot send application/json), the API key, and CORS.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from './errors.js';

const LOOPBACK_HOST = /^(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/;

/** A page on a rebound DNS name reaches the server with its own name in Host; only loopback names pass. */
export function checkHost(req: IncomingMessage): void {
  const host = (req.headers.host ?? '').toLowerCase();
  if (LOOPBACK_HOST.test(host)) return;
  throw new ApiError(403, 'permission_error', `Host ${host ? JSON.stringify(host.slice(0, 100)) : 'missing'}: without an API key ` +
    'tide serve answers only localhost, 127.0.0.1 and [::1] (start it with --api-key to serve other names)', null, 'host_not_allowed');
}

export function checkJson(req: IncomingMessage): void {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/json') return;
  throw new ApiError(415, 'invalid_request_error', `Content-Type ${type ? JSON.stringify(type.slice(0, 100)) : 'missing'}: request bodies must be application/json`,
    null, 'unsupported_media_type');
}

export function checkKey(req: IncomingMessage, key: string): void {
  const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
  // Compare digests so neither the length nor the content leaks through timing.
  const digest = (v: string) => createHash('sha256').update(v).digest();
  if (!m || !timingSafeEqual(digest(m[1]), digest(key))) {
    throw new ApiError(401, 'authentication_error', m ? 'invalid API key' : 'missing API key: send "Authorization: Bearer <key>"', null, 'invalid_api_key',
      { 'WWW-Authenticate': 'Bearer' });
  }
}

/** The answer to a browser's preflight OPTIONS (Access-Control-Allow-Origin is already on every response). */
export function preflight(res: ServerResponse, method: string): void {
  res.writeHead(204, {
    'Access-Control-Allow-Methods': `${method}, OPTIONS`,
    'Access-Control-Allow-Headers': 'Authorization, Content-Type',
    'Access-Control-Max-Age': '600',
  }).end();
}
