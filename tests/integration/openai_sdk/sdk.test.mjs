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

test('structured outputs: response_format json_schema and json_object, plain and streaming', async () => {
  const schema = {
    type: 'object',
    properties: {
      name: { type: 'string', maxLength: 12 },
      age: { type: 'integer', minimum: 0, maximum: 120 },
      pet: { type: 'string', enum: ['cat', 'dog', 'fish'] },
    },
    required: ['name', 'age', 'pet'],
    additionalProperties: false,
  };
  const format = { type: 'json_schema', json_schema: { name: 'person', strict: true, schema } };
  for (const seed of [1, 2, 3]) {
    const r = await client.chat.completions.create({
      model: 'stories', messages: [{ role: 'user', content: 'Describe a person.' }],
      response_format: format, max_tokens: 120, temperature: 1, seed,
    });
    const content = r.choices[0].message.content;
    const doc = JSON.parse(content);
    assert.deepEqual(Object.keys(doc), ['name', 'age', 'pet'], content);
    assert.ok(Number.isInteger(doc.age) && doc.age >= 0 && doc.age <= 120, content);
    assert.ok(['cat', 'dog', 'fish'].includes(doc.pet), content);
    assert.equal(r.choices[0].finish_reason, 'stop');
  }
  const stream = await client.chat.completions.create({
    model: 'stories', messages: [{ role: 'user', content: 'Describe a person.' }],
    response_format: { type: 'json_object' }, max_tokens: 200, temperature: 0, stream: true,
  });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  // json_object mode: an object, or a prefix of one when max_tokens cut it short.
  assert.match(text, /^\s*\{/);
  try {
    assert.equal(typeof JSON.parse(text), 'object');
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
  }
  await assert.rejects(
    client.chat.completions.create({
      model: 'stories', messages: [{ role: 'user', content: 'x' }],
      response_format: { type: 'json_schema', json_schema: { name: 'p', schema: { type: 'string', pattern: 'a+' } } },
    }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'response_format.json_schema.schema'
      && /pattern/.test(e.message));
});

test('guided_choice and a GBNF grammar on completions (vLLM and llama.cpp extensions)', async () => {
  const choice = await client.completions.create({
    model: 'stories', prompt: 'Was the dog happy?', max_tokens: 10, temperature: 1, seed: 9,
    guided_choice: [' yes', ' no'],
  });
  assert.ok([' yes', ' no'].includes(choice.choices[0].text), choice.choices[0].text);
  assert.equal(choice.choices[0].finish_reason, 'stop');
  const digits = await client.completions.create({
    model: 'stories', prompt: 'Once upon a time', max_tokens: 30, temperature: 0,
    grammar: 'root ::= " " [0-9]{3} "-" [0-9]{4}',
  });
  assert.match(digits.choices[0].text, /^ [0-9]{3}-[0-9]{4}$/);
  assert.equal(digits.choices[0].finish_reason, 'stop');
});
