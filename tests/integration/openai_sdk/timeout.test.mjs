// --request-timeout: a request still running at its deadline is cancelled (408, its KV blocks
// freed), and the server goes on serving.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './server.mjs';

let server;

before(async () => {
  server = await startServer(['--request-timeout', '0.3']);
});

after(async () => {
  assert.equal(await server.stop(), 0);
});

async function complete(maxTokens) {
  const r = await fetch(server.url + '/v1/completions', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'llama', prompt: 'Once upon a time', max_tokens: maxTokens, ignore_eos: true }),
  });
  return { status: r.status, json: await r.json() };
}

test('a request past its deadline gets 408 and the server keeps serving', async () => {
  const slow = await complete(2000);
  assert.equal(slow.status, 408);
  assert.match(slow.json.error.message, /timed out/);
  const quick = await complete(4);
  assert.equal(quick.status, 200);
  const metrics = await (await fetch(server.url + '/metrics')).text();
  assert.match(metrics, /tenbin_kv_cache_usage_ratio\{model_name="llama"\} 0\n/);
});
