// The official OpenAI Node SDK, unchanged, against `tenbin serve` on loopback: completions and
// chat, plain and streaming, usage, and the SDK's typed errors for bad requests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startServer } from './server.mjs';

const STORY = ', there was a little girl named Lily. She loved to play outside in the park.';
let server;
let client;

before(async () => {
  server = await startServer(['--api-key', 'sk-tenbin-test', '--served-model-name', 'stories']);
  client = new OpenAI({ baseURL: server.url + '/v1', apiKey: 'sk-tenbin-test', maxRetries: 0 });
});

after(async () => {
  assert.equal(await server.stop(), 0, 'SIGTERM exits 0');
});

test('models lists the served model', async () => {
  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), ['stories']);
});

test('completion, greedy, matches the reference text', async () => {
  const r = await client.completions.create({
    model: 'stories', prompt: 'Once upon a time', max_tokens: 24, temperature: 0,
  });
  assert.ok(STORY.startsWith(r.choices[0].text) || r.choices[0].text.startsWith(STORY),
    `got ${JSON.stringify(r.choices[0].text)}`);
  assert.equal(r.choices[0].finish_reason, 'length');
  assert.deepEqual(r.usage, { prompt_tokens: 5, completion_tokens: 24, total_tokens: 29 });
});

test('streaming completion concatenates to the same text, with usage', async () => {
  const plain = await client.completions.create({
    model: 'stories', prompt: 'Once upon a time', max_tokens: 24, temperature: 0,
  });
  const stream = await client.completions.create({
    model: 'stories', prompt: 'Once upon a time', max_tokens: 24, temperature: 0, stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let usage = null;
  let finish = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text += c.text;
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.equal(text, plain.choices[0].text);
  assert.equal(finish, 'length');
  assert.equal(usage.completion_tokens, 24);
});

test('chat completion, plain and streaming, with stop strings and n', async () => {
  const r = await client.chat.completions.create({
    model: 'stories', messages: [{ role: 'user', content: 'Tell me a story' }],
    max_tokens: 16, temperature: 0, n: 2,
  });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices.length, 2);
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(r.choices[0].message.content, r.choices[1].message.content, 'greedy choices agree');

  const stream = await client.chat.completions.create({
    model: 'stories', messages: [{ role: 'user', content: 'Tell me a story' }],
    max_tokens: 16, temperature: 0, stream: true, stream_options: { include_usage: true },
  });
  let content = '';
  let usage = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) content += c.delta.content ?? '';
  }
  assert.equal(content, r.choices[0].message.content);
  assert.equal(usage.completion_tokens, 16);

  const stopped = await client.completions.create({
    model: 'stories', prompt: 'Once upon a time', max_tokens: 40, temperature: 0, stop: ['Lily'],
  });
  assert.equal(stopped.choices[0].text, ', there was a little girl named ');
  assert.equal(stopped.choices[0].finish_reason, 'stop');
});

test('bad requests raise the SDK typed errors', async () => {
  await assert.rejects(
    client.completions.create({ model: 'stories', prompt: 'Hi', temperature: 'hot' }),
    (e) => e instanceof OpenAI.BadRequestError && e.status === 400 && e.param === 'temperature');
  await assert.rejects(
    client.completions.create({ model: 'gpt-9', prompt: 'Hi' }),
    (e) => e instanceof OpenAI.NotFoundError && e.status === 404);
  await assert.rejects(
    client.completions.create({ model: 'stories', prompt: 'Hi', max_tokens: 100000 }),
    (e) => e instanceof OpenAI.BadRequestError && /maximum context length/.test(e.message));
  const wrongKey = new OpenAI({ baseURL: server.url + '/v1', apiKey: 'sk-wrong', maxRetries: 0 });
  await assert.rejects(wrongKey.models.list(),
    (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
});

test('logit_bias: +100 forces a token, -100 bans it, ids past the vocabulary are a 400', async () => {
  const repeated = (text) => text.length > 0 && text.length % 4 === 0
    && text === text.slice(0, text.length / 4).repeat(4);
  const forced = await client.completions.create({
    model: 'stories', prompt: 'Once upon a time', max_tokens: 4, temperature: 0,
    logit_bias: { 300: 100 },
  });
  assert.ok(repeated(forced.choices[0].text), JSON.stringify(forced.choices[0].text));
  const other = await client.chat.completions.create({
    model: 'stories', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4, temperature: 0.7,
    seed: 3, logit_bias: { 300: -100, 301: 100 },
  });
  const text = other.choices[0].message.content;
  assert.ok(repeated(text), JSON.stringify(text));
  assert.notEqual(text, forced.choices[0].text);

  await assert.rejects(
    client.completions.create({
      model: 'stories', prompt: 'Hi', max_tokens: 2, logit_bias: { 100000: 5 },
    }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'logit_bias'
      && /outside the vocabulary/.test(e.message));
});
