// Bad input and overload over raw HTTP: each gets OpenAI's error object with the right status,
// and the server keeps serving everyone else.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './server.mjs';

let server;

before(async () => {
  server = await startServer(['--max-queue', '2', '--max-num-seqs', '1', '--max-body-mib', '1']);
});

after(async () => {
  assert.equal(await server.stop(), 0);
});

async function post(path, body, headers = {}) {
  const r = await fetch(server.url + path, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body,
  });
  return { status: r.status, headers: r.headers, json: await r.json().catch(() => null) };
}

function assertError(r, status, param) {
  assert.equal(r.status, status);
  assert.equal(typeof r.json.error.message, 'string');
  assert.ok(r.json.error.type);
  if (param !== undefined) assert.equal(r.json.error.param, param);
}

test('malformed JSON, wrong types, empty messages, invalid UTF-8', async () => {
  assertError(await post('/v1/completions', '{"model": "x", "prompt": '), 400);
  assertError(await post('/v1/completions', JSON.stringify({ model: 'llama', prompt: 'a', n: 'two' })), 400, 'n');
  assertError(await post('/v1/chat/completions', JSON.stringify({ model: 'llama', messages: [] })), 400, 'messages');
  assertError(await post('/v1/completions', JSON.stringify({ model: 'llama', prompt: 'a', n: 1000 })), 400, 'n');
  const bad = Buffer.concat([Buffer.from('{"model":"llama","prompt":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
  assertError(await post('/v1/completions', bad), 400);
});

test('unknown route 404, wrong method 405, body over the limit 413', async () => {
  assertError(await post('/v1/nothing', '{}'), 404);
  const r = await fetch(server.url + '/v1/completions');
  assert.equal(r.status, 405);
  assertError(await post('/v1/completions', JSON.stringify({ model: 'llama', prompt: 'x'.repeat(2 << 20) })), 413);
});

test('a full waiting queue answers 429 with Retry-After, others still complete', async () => {
  const body = JSON.stringify({ model: 'llama', prompt: 'Once upon a time', max_tokens: 200, ignore_eos: true });
  const results = await Promise.all(Array.from({ length: 12 }, () => post('/v1/completions', body)));
  const ok = results.filter((r) => r.status === 200);
  const refused = results.filter((r) => r.status === 429);
  assert.ok(ok.length >= 1, 'some requests are served');
  assert.ok(refused.length >= 1, 'some requests are refused');
  assert.equal(ok.length + refused.length, results.length);
  for (const r of refused) {
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
    assert.equal(r.json.error.type, 'rate_limit_error');
  }
  for (const r of ok) assert.equal(r.json.usage.completion_tokens, 200);
  const after = await post('/v1/completions', JSON.stringify({ model: 'llama', prompt: 'Hi', max_tokens: 2 }));
  assert.equal(after.status, 200);
});
