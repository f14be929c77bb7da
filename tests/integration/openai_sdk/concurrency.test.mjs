// Many clients at once on 2 cores: 64 concurrent greedy requests each get exactly the tokens
// they get alone (batch invariance through the whole server), 256 simultaneous streaming
// clients all complete, and a shared prompt prefix shows up as prefix-cache hits in /metrics.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startServer } from './server.mjs';

let server;
let client;

before(async () => {
  server = await startServer(['--max-num-seqs', '64', '--max-batch-tokens', '256', '--max-queue', '512']);
  client = new OpenAI({ baseURL: server.url + '/v1', apiKey: 'unused', maxRetries: 0, timeout: 120000 });
});

after(async () => {
  assert.equal(await server.stop(), 0);
});

const WORDS = ['Lily', 'Tom', 'the dog', 'a big bird', 'Mom', 'the sun', 'a red ball', 'the park'];
const prompt = (i) => `Once upon a time ${WORDS[i % 8]} and ${WORDS[(i * 3 + 1) % 8]} saw ${i}`;

async function greedy(p) {
  const r = await client.completions.create({ model: 'llama', prompt: p, max_tokens: 24, temperature: 0 });
  return r.choices[0].text;
}

test('64 concurrent greedy requests match their alone outputs', async () => {
  const alone = [];
  for (let i = 0; i < 64; i++) alone.push(await greedy(prompt(i)));
  const together = await Promise.all(Array.from({ length: 64 }, (_, i) => greedy(prompt(i))));
  for (let i = 0; i < 64; i++) assert.equal(together[i], alone[i], `request ${i}`);
});

test('256 simultaneous streaming clients all complete', async () => {
  const one = async (i) => {
    const stream = await client.completions.create({
      model: 'llama', prompt: prompt(i), max_tokens: 16, temperature: 0.8, seed: i, stream: true,
      stream_options: { include_usage: true }, ignore_eos: true,
    });
    let usage = null;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    return usage.completion_tokens;
  };
  const counts = await Promise.all(Array.from({ length: 256 }, (_, i) => one(i)));
  assert.deepEqual(counts, Array(256).fill(16));
});

async function metric(name) {
  const text = await (await fetch(server.url + '/metrics')).text();
  const line = text.split('\n').find((l) => l.startsWith(name + '{') || l.startsWith(name + ' '));
  return line ? Number(line.split(' ').pop()) : NaN;
}

test('a shared prefix is served from the prefix cache', async () => {
  const system = 'Once upon a time, there was a little girl named Lily. She loved to play outside ' +
    'in the park with her friends and her dog. Every day they ran and laughed in the sun.';
  const before = await metric('tenbin_prefix_cache_hits_total');
  await greedy(system + ' One day');
  await greedy(system + ' Then her mom');
  const afterHits = await metric('tenbin_prefix_cache_hits_total');
  assert.ok(afterHits - before >= 32, `prefix hits grew by ${afterHits - before}`);
});
