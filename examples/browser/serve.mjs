// A static file server for the browser example, rooted at the repository (the page imports
// ../../dist-bundle/tide.js and loads /weights/stories260K/). `--isolated` sends COOP/COEP, which makes
// the page cross-origin isolated, so Tide can use SharedArrayBuffer threads.
// Usage: npm run bundle && node examples/browser/serve.mjs [--port 18680] [--isolated]
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css',
  '.json': 'application/json', '.wasm': 'application/wasm', '.png': 'image/png',
};

/** Serve `root` on 127.0.0.1:`port`; resolves with the listening server. */
export function serve({ root = ROOT, port = 18680, isolated = false } = {}) {
  const server = createServer(async (req, res) => {
    const path = resolve(root, '.' + decodeURIComponent(new URL(req.url, 'http://x').pathname));
    if (path !== root && !path.startsWith(root + sep)) return void res.writeHead(403).end();
    const file = (await stat(path).catch(() => undefined))?.isDirectory() ? join(path, 'index.html') : path;
    const body = await readFile(file).catch(() => undefined);
    if (!body) return void res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${req.url}`);
    const headers = { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': body.length, 'cache-control': 'no-store' };
    if (isolated) Object.assign(headers, { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
    res.writeHead(200, headers).end(body);
  });
  return new Promise((ok, fail) => server.once('error', fail).listen(port, '127.0.0.1', () => ok(server)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name) => process.argv.includes(name);
  const i = process.argv.indexOf('--port');
  const port = i > 0 ? Number(process.argv[i + 1]) : 18680;
  await serve({ port, isolated: arg('--isolated') });
  console.log(`http://127.0.0.1:${port}/examples/browser/  (Ctrl-C to stop)`);
}
