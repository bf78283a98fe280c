// tide serve under abuse, in this process over loopback: Host and Content-Type guards, unknown and
// unsupported fields, clients that hang up mid-body and mid-stream (one 499 line, no stack), four 1 MiB
// prompts while /health is polled, slow and surplus connections, CORS, an embeddings-only server, and
// error bodies free of the server's paths. Every loop here is bounded in count and time.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { homedir } from 'node:os';
import { loadEmbedder, type Embedder } from '../src/text/embed.js';
import { loadModel, type Model } from '../src/index.js';
import { startServer, type ServeOptions, type TideServer } from '../src/server/index.js';
import { fixtureModel } from './paths.js';
import { CHAT_TEMPLATE, chatModelDir, qwenChatDir, sseData, tokenizerFiles } from './server-fixture.js';

const MiB = 1 << 20;
const HEALTH_BOUND_MS = 1000;   // the bound on /health while big prompts are processed
const CONTEXT = 512;            // tiny-qwen2's max_position_embeddings
const NO_EOS = { 2: -100 };     // tiny-chatml's <|im_end|>: a generation runs to max_tokens

let qwen: Model, embedder: Embedder, qwenDir: string;
let srv: TideServer;            // tiny-qwen2 + ChatML, no key, CORS for one origin
const logs: string[] = [];
const extra: TideServer[] = [];
const dirs: string[] = [];

test.before(async () => {
  qwenDir = qwenChatDir();
  dirs.push(qwenDir);
  qwen = await loadModel(qwenDir, { threads: 1 });
  embedder = await loadEmbedder(fixtureModel('tiny-bert'), { threads: 1, onWarning: () => {} });
  srv = await startServer({ model: qwen, modelId: 'qwen', tokenizer: await tokenizerFiles(qwenDir), port: 0, parallel: 1, maxQueue: 2,
    maxBodyBytes: 2 * MiB, cors: 'http://app.example', log: (l) => logs.push(l) });
});

test.after(async () => {
  await Promise.all([srv?.close(), ...extra.map((s) => s.close())]);
  await Promise.all([qwen?.dispose(), embedder?.dispose()]);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function server(o: Partial<ServeOptions>): Promise<TideServer> {
  const s = await startServer({ port: 0, log: () => {}, ...o });
  extra.push(s);
  return s;
}

/** One exchange through node:http (which, unlike fetch, sends any Host), on a fresh connection. */
function raw(base: string, path: string, o: { method?: string; headers?: Record<string, string>; body?: string } = {}):
  Promise<{ status: number; headers: IncomingHttpHeaders; body: string; json: () => any }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method: o.method ?? 'GET', headers: o.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c) => (body += c)).on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body, json: () => JSON.parse(body) }));
    });
    req.on('error', reject).end(o.body);
  });
}

const postJson = (base: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
  raw(base, path, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });

function expectError(r: { status: number; body: string; json: () => any }, status: number, param: string | null, code: string): any {
  assert.is(r.status, status, r.body);
  assert.is(r.body.split('\n').length, 1, 'one line');
  const e = r.json().error;
  assert.is(e.param, param, r.body);
  assert.is(e.code, code, r.body);
  return e;
}

/** A socket to the server; resolves when connected. */
function open(s: TideServer): Promise<Socket> {
  return new Promise((resolve, reject) => { const c = connect(s.port, '127.0.0.1', () => resolve(c)).once('error', reject); });
}

/** Milliseconds until the server closes `sock`, and what it sent; rejects after `ms`. */
function closedWithin(sock: Socket, ms: number): Promise<{ ms: number; data: string }> {
  const t0 = performance.now();
  let data = '';
  sock.on('data', (d) => (data += d)).on('error', () => {});
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`still open after ${ms} ms`)); }, ms);
    sock.once('close', () => { clearTimeout(timer); resolve({ ms: performance.now() - t0, data }); });
  });
}

const until = async (ok: () => boolean, ms: number, what: string) => {
  const t0 = performance.now();
  while (!ok()) {
    if (performance.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

test('Host: without a key only localhost, 127.0.0.1 and [::1] (any port) are answered; others 403; with a key any Host', async () => {
  for (const host of ['localhost', `localhost:${srv.port}`, `127.0.0.1:${srv.port}`, '[::1]', `[::1]:${srv.port}`, 'LOCALHOST:1']) {
    assert.is((await raw(srv.url, '/health', { headers: { Host: host } })).status, 200, host);
  }
  for (const host of ['evil.example', `evil.example:${srv.port}`, 'localhost.evil.example', '127.0.0.1.nip.io', '127.0.0.2', '[::1]x', '0.0.0.0']) {
    const e = expectError(await raw(srv.url, '/health', { headers: { Host: host } }), 403, null, 'host_not_allowed');
    assert.match(e.message, /without an API key/);
    // Nothing behind the guard is reached: a POST is refused before its body is read.
    expectError(await postJson(srv.url, '/v1/completions', { model: 'qwen', prompt: [1] }, { Host: host }), 403, null, 'host_not_allowed');
  }
  const keyed = await server({ embedder, embedModelId: 'tiny-bert', apiKey: 'k' });
  const r = await postJson(keyed.url, '/v1/embeddings', { model: 'tiny-bert', input: [[5, 6]] }, { Host: 'tide.example', Authorization: 'Bearer k' });
  assert.is(r.status, 200, r.body);
});

test('Content-Type: a POST body must be application/json (415), so a cross-site form or text/plain post never runs', async () => {
  const body = JSON.stringify({ model: 'qwen', prompt: [1], max_tokens: 1 });
  const sent = srv.prompts.sent, running = srv.queue.stats;
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp', undefined]) {
    const r = await raw(srv.url, '/v1/completions', { method: 'POST', headers: type ? { 'Content-Type': type } : {}, body });
    expectError(r, 415, null, 'unsupported_media_type');
  }
  assert.is(srv.prompts.sent, sent);
  assert.equal(srv.queue.stats, running);
  const ok = await raw(srv.url, '/v1/completions', { method: 'POST', headers: { 'Content-Type': 'Application/JSON; charset=utf-8' }, body });
  assert.is(ok.status, 200, ok.body);
});

test('unknown fields are a 400 naming them; OpenAI fields Tide does not implement are a 400 saying so; their no-op values pass', async () => {
  const chat = { model: 'qwen', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 };
  const completion = { model: 'qwen', prompt: [1], max_tokens: 1 };
  const embed = { model: 'tiny-bert', input: [[5, 6]] };
  const emb = await server({ embedder, embedModelId: 'tiny-bert' });
  const cases: [string, string, object, string, unknown][] = [
    [srv.url, '/v1/chat/completions', chat, 'foo', 1], [srv.url, '/v1/completions', completion, 'foo', 'x'],
    [srv.url, '/v1/completions', completion, 'max_completion_tokens', 5], [emb.url, '/v1/embeddings', embed, 'foo', null],
    [srv.url, '/v1/chat/completions', chat, '__proto__', {}],
  ];
  for (const [base, path, body, field, value] of cases) {
    const r = await raw(base, path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body).replace(/}$/, `,${JSON.stringify(field)}:${JSON.stringify(value)}}`) });
    const e = expectError(r, 400, field, 'unknown_parameter');
    assert.ok(e.message.startsWith(`${field}: unknown field`), e.message);
  }
  const unsupported: [string, string, object, [string, unknown][]][] = [
    [srv.url, '/v1/chat/completions', chat, [['tool_choice', 'auto'], ['top_logprobs', 2], ['logprobs', true], ['n', 2], ['response_format', { type: 'json_object' }],
      ['tools', [{ type: 'function', function: { name: 'f' } }]], ['parallel_tool_calls', true], ['functions', []], ['audio', {}], ['modalities', ['text', 'audio']],
      ['prediction', {}], ['reasoning_effort', 'low'], ['store', true], ['metadata', {}], ['service_tier', 'flex'], ['user', 'u'], ['web_search_options', {}]]],
    [srv.url, '/v1/completions', completion, [['logprobs', 1], ['echo', true], ['best_of', 2], ['suffix', 'end'], ['n', 3], ['user', 'u']]],
    [emb.url, '/v1/embeddings', embed, [['dimensions', 16], ['user', 'u']]],
  ];
  for (const [base, path, body, fields] of unsupported) {
    for (const [field, value] of fields) {
      const e = expectError(await postJson(base, path, { ...body, [field]: value }), 400, field, 'unsupported_parameter');
      assert.match(e.message, new RegExp(`^${field}: .* is not supported by tide serve$`));
    }
  }
  const noOps: [string, string, object, object][] = [
    [srv.url, '/v1/chat/completions', chat, { n: 1, logprobs: false, tools: [], tool_choice: 'none', response_format: { type: 'text' }, store: false, top_logprobs: null }],
    [srv.url, '/v1/completions', completion, { n: 1, best_of: 1, echo: false, suffix: '', logprobs: null }],
    [emb.url, '/v1/embeddings', embed, { dimensions: null }],
  ];
  for (const [base, path, body, values] of noOps) {
    const r = await postJson(base, path, { ...body, ...values });
    assert.is(r.status, 200, `${path}: ${r.body}`);
  }
});

test('a client that hangs up mid-body: one 499 line, no error, no stack; the server answers the next request', async () => {
  const from = logs.length;
  const sock = await open(srv);
  sock.write(`POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${MiB}\r\n\r\n{"model": "qwen", "prom`);
  await new Promise((r) => setTimeout(r, 50)); // the handler is reading the body
  sock.destroy();
  await until(() => logs.length > from, 2000, 'the log line');
  await new Promise((r) => setTimeout(r, 50)); // anything else it might log
  assert.equal(logs.slice(from).length, 1, logs.slice(from).join('\n'));
  assert.match(logs[from], / POST \/v1\/completions 499 tokens=- \d+ms abort$/);
  assert.is((await raw(srv.url, '/health')).status, 200);
});

test('a client that hangs up mid-stream: the generation stops, one 499 line with the tokens made, no stack', async () => {
  const from = logs.length;
  const ac = new AbortController();
  const res = await fetch(`${srv.url}/v1/chat/completions`, { method: 'POST', signal: ac.signal, headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'qwen', messages: [{ role: 'user', content: 'hi' }], max_tokens: 480, logit_bias: NO_EOS, stream: true }) });
  await sseData(res).next(); // the role chunk: the prompt is in, generation starts
  await new Promise((r) => setTimeout(r, 20));
  ac.abort();
  await until(() => logs.length > from, 5000, 'the log line');
  await new Promise((r) => setTimeout(r, 50));
  assert.is(logs.slice(from).length, 1, logs.slice(from).join('\n'));
  const m = / POST \/v1\/chat\/completions 499 tokens=(\d+)\+(\d+) \d+ms abort$/.exec(logs[from]);
  assert.ok(m && Number(m[2]) < 480, logs[from]);
  assert.equal([srv.queue.stats.running, srv.queue.stats.waiting], [0, 0]);
});

test('four 1 MiB prompts at once while /health is polled every 100 ms: every health answer in < 1 s; each prompt a 400 or a 429', async () => {
  const text = 'Once upon a time there was a cat. '.repeat(MiB / 34 + 1).slice(0, MiB);
  const sent = srv.prompts.sent;
  const t0 = performance.now();
  const big = [
    postJson(srv.url, '/v1/chat/completions', { model: 'qwen', messages: [{ role: 'user', content: text }] }),
    postJson(srv.url, '/v1/completions', { model: 'qwen', prompt: text }),
    postJson(srv.url, '/v1/chat/completions', { model: 'qwen', messages: [{ role: 'system', content: text }, { role: 'user', content: 'hi' }] }),
    postJson(srv.url, '/v1/completions', { model: 'qwen', prompt: text, stream: true }),
  ].map((p) => p.then((r) => { done++; return r; }));
  let done = 0;
  const health: number[] = [];
  while (done < big.length) {
    assert.ok(performance.now() - t0 < 90_000, `the big requests did not end in 90 s (${done} did)`);
    const h0 = performance.now();
    const h = await raw(srv.url, '/health');
    health.push(performance.now() - h0);
    assert.is(h.status, 200);
    await new Promise((r) => setTimeout(r, 100));
  }
  const answers = await Promise.all(big);
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`  4 × 1 MiB: ${seconds} s, ${health.length} health checks, slowest ${Math.max(...health).toFixed(0)} ms`);
  assert.ok(health.length >= 3, `${health.length} health checks`);
  assert.ok(Math.max(...health) < HEALTH_BOUND_MS, `slowest /health ${Math.max(...health).toFixed(0)} ms`);
  // One slot and two waiting places: three are tokenized (each far over the context), the fourth is
  // turned away before any tokenizing.
  const codes = answers.map((r) => `${r.status} ${r.json().error?.code}`).sort();
  assert.equal(codes, ['400 context_length_exceeded', '400 context_length_exceeded', '400 context_length_exceeded', '429 queue_full'], answers.map((r) => r.body).join('\n'));
  assert.is(srv.prompts.sent - sent, 3, 'the 429 was refused before its prompt went to the tokenizer');
  for (const r of answers.filter((a) => a.status === 400)) assert.match(r.json().error.message, new RegExp(`tokens > context length ${CONTEXT}$`));
});

test('slow or surplus connections: headers and body have time limits; past the connection cap a socket is closed at once', async () => {
  const s = await server({ model: qwen, modelId: 'qwen', tokenizer: await tokenizerFiles(qwenDir), headersTimeoutMs: 300, requestTimeoutMs: 600, maxConnections: 2 });
  const headers = await open(s);
  headers.write('GET /health HTTP/1.1\r\nHost: localhost\r\n'); // never finished
  const body = await open(s);
  body.write('POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"mo');
  const third = await open(s);
  const refused = await closedWithin(third, 1000);
  assert.is(refused.data, '', 'closed without an answer');
  const [h, b] = await Promise.all([closedWithin(headers, 3000), closedWithin(body, 3000)]);
  assert.match(h.data, /^HTTP\/1\.1 408 /);
  assert.ok(h.ms < 2000 && b.ms < 3000, `closed after ${h.ms.toFixed(0)} and ${b.ms.toFixed(0)} ms`);
  assert.is((await raw(s.url, '/health')).status, 200, 'the server lives on');
});

test('CORS: with --cors every answer names the origin and preflights are answered; without it no CORS header', async () => {
  const h = await raw(srv.url, '/health', { headers: { Origin: 'http://app.example' } });
  assert.is(h.headers['access-control-allow-origin'], 'http://app.example');
  assert.is(h.headers.vary, 'Origin');
  const pre = await raw(srv.url, '/v1/chat/completions', { method: 'OPTIONS', headers: { Origin: 'http://app.example', 'Access-Control-Request-Method': 'POST',
    'Access-Control-Request-Headers': 'content-type, authorization' } });
  assert.is(pre.status, 204);
  assert.is(pre.headers['access-control-allow-origin'], 'http://app.example');
  assert.is(pre.headers['access-control-allow-methods'], 'POST, OPTIONS');
  assert.match(String(pre.headers['access-control-allow-headers']), /Authorization, Content-Type/);
  const err = await postJson(srv.url, '/v1/completions', { model: 'nope', prompt: [1] }, { Origin: 'http://app.example' });
  assert.is(err.status, 404);
  assert.is(err.headers['access-control-allow-origin'], 'http://app.example', 'errors too, so the page can read them');

  const plain = await server({ embedder, embedModelId: 'tiny-bert' });
  const g = await raw(plain.url, '/health', { headers: { Origin: 'http://app.example' } });
  assert.is(g.headers['access-control-allow-origin'], undefined);
  const o = await raw(plain.url, '/v1/embeddings', { method: 'OPTIONS', headers: { Origin: 'http://app.example' } });
  assert.is(o.status, 405);
  assert.is(o.headers['access-control-allow-origin'], undefined);
});

test('embeddings only: /v1/embeddings works, chat and completions are a 404 saying so, /v1/models lists the encoder alone', async () => {
  const s = await server({ embedder, embedModelId: 'tiny-bert' });
  const r = await postJson(s.url, '/v1/embeddings', { model: 'tiny-bert', input: [[20, 36, 118], [5]] });
  assert.is(r.status, 200, r.body);
  assert.equal(r.json().data.map((d: { embedding: number[] }) => d.embedding.length), [64, 64]);
  for (const [path, body] of [['/v1/chat/completions', { model: 'tiny-bert', messages: [{ role: 'user', content: 'x' }] }], ['/v1/completions', { model: 'x', prompt: [1] }]] as const) {
    const e = expectError(await postJson(s.url, path, body), 404, 'model', 'model_not_found');
    assert.match(e.message, /no text-generation model is loaded; this server only embeds, as "tiny-bert"/);
  }
  assert.equal((await raw(s.url, '/v1/models')).json().data.map((m: { id: string }) => m.id), ['tiny-bert']);
  const h = (await raw(s.url, '/health')).json();
  assert.equal([h.model, h.embedding_model], [null, 'tiny-bert']);
});

test('error bodies never show the server\'s paths: a template error from a model in a temp dir names the model id', async () => {
  const dir = chatModelDir(CHAT_TEMPLATE.replace('{{ bos_token }}', "{% if messages[0].role == 'system' %}{{ raise_exception('no system messages') }}{% endif %}{{ bos_token }}"));
  dirs.push(dir);
  const m = await loadModel(dir, { threads: 1 });
  try {
    const s = await server({ model: m, modelId: 'raiser', tokenizer: await tokenizerFiles(dir) });
    const r = await postJson(s.url, '/v1/chat/completions', { model: 'raiser', messages: [{ role: 'system', content: 'x' }] });
    const e = expectError(r, 400, 'messages', 'E_TEMPLATE');
    assert.match(e.message, /^raiser\/tokenizer_config\.json: chat template raised: no system messages$/);
    for (const path of [dir, process.cwd(), homedir()]) assert.not.ok(r.body.includes(path), `${path} in ${r.body}`);
  } finally {
    await m.dispose();
  }
});

test.run();
