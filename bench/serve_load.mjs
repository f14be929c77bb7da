// A plain closed-loop load client for any OpenAI-compatible /v1/completions endpoint (until
// `tenbin bench` exists): N concurrent users, each sending the next streaming request when
// the previous one ends. Prints one JSON line: request throughput, output tokens/s, TTFT and
// TPOT percentiles. Usage:
//   node bench/serve_load.mjs URL CONCURRENCY REQUESTS [PROMPT_WORDS=100] [MAX_TOKENS=64]
const [url, concurrencyArg, requestsArg, wordsArg = '100', maxTokensArg = '64'] = process.argv.slice(2);
const concurrency = Number(concurrencyArg);
const total = Number(requestsArg);
const maxTokens = Number(maxTokensArg);
const words = ['the', 'little', 'girl', 'saw', 'a', 'big', 'red', 'ball', 'in', 'park', 'and', 'dog'];

function prompt(i) {
  // Distinct prompts: the request number leads, so no two share a prefix block.
  const out = [`Story ${i}:`];
  for (let w = 0; w < Number(wordsArg); w++) out.push(words[(i * 7 + w * 3) % words.length]);
  return out.join(' ');
}

async function one(i) {
  const start = performance.now();
  const r = await fetch(url + '/v1/completions', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, prompt: prompt(i), max_tokens: maxTokens, ignore_eos: true,
      temperature: 0, stream: true, stream_options: { include_usage: true } }),
  });
  if (r.status !== 200) return { error: r.status };
  const times = [];
  let usage = null;
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const bytes of r.body) {
    buffer += decoder.decode(bytes, { stream: true });
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      if (!event.startsWith('data: ') || event === 'data: [DONE]') continue;
      const chunk = JSON.parse(event.slice(6));
      if (chunk.usage) usage = chunk.usage;
      if (chunk.choices?.length && chunk.choices[0].text) times.push(performance.now());
    }
  }
  const end = performance.now();
  return { ttft: times[0] - start, e2e: end - start,
    tpot: times.length > 1 ? (times[times.length - 1] - times[0]) / (times.length - 1) : 0,
    tokens: usage ? usage.completion_tokens : times.length };
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : 0;
};

const model = (await (await fetch(url + '/v1/models')).json()).data[0].id;
let next = 0;
const results = [];
const t0 = performance.now();
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (next < total) results.push(await one(next++));
}));
const seconds = (performance.now() - t0) / 1000;
const ok = results.filter((r) => !r.error);
const tokens = ok.reduce((a, r) => a + r.tokens, 0);
console.log(JSON.stringify({
  concurrency, requests: total, completed: ok.length, failed: results.length - ok.length,
  duration_s: +seconds.toFixed(2), request_throughput: +(ok.length / seconds).toFixed(3),
  output_tokens_per_s: +(tokens / seconds).toFixed(2),
  median_ttft_ms: +pct(ok.map((r) => r.ttft), 50).toFixed(1), p99_ttft_ms: +pct(ok.map((r) => r.ttft), 99).toFixed(1),
  median_tpot_ms: +pct(ok.map((r) => r.tpot), 50).toFixed(1), p99_tpot_ms: +pct(ok.map((r) => r.tpot), 99).toFixed(1),
}));
