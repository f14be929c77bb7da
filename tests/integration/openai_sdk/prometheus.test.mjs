// A real Prometheus server (Debian's `prometheus`) scrapes `tenbin serve`'s /metrics, and a
// PromQL query for the request counter returns what the test sent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startServer } from './server.mjs';

function which(cmd) {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`]).toString().trim();
  } catch {
    return '';
  }
}

const PROMETHEUS = which('prometheus');
let server;
let prom;
let dir;

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

before(async () => {
  if (!PROMETHEUS) return;
  server = await startServer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenbin-prom-'));
  const target = new URL(server.url).host;
  fs.writeFileSync(path.join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: tenbin\n    static_configs:\n      - targets: ['${target}']\n`);
  const port = await freePort();
  prom = {
    url: `http://127.0.0.1:${port}`,
    child: spawn(PROMETHEUS, [`--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: 'ignore' }),
  };
});

after(async () => {
  if (!PROMETHEUS) return;
  prom.child.kill('SIGTERM');
  await new Promise((resolve) => prom.child.on('exit', resolve));
  assert.equal(await server.stop(), 0);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('Prometheus scrapes the request counter', { skip: !PROMETHEUS && 'prometheus is not installed' }, async () => {
  for (let i = 0; i < 3; i++) {
    const r = await fetch(server.url + '/v1/completions', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'llama', prompt: 'Once upon a time', max_tokens: 4 }),
    });
    assert.equal(r.status, 200);
  }
  const query = encodeURIComponent('sum(tenbin_requests_total{outcome="length"})');
  let value = null;
  for (let attempt = 0; attempt < 60 && value !== 3; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    try {
      const r = await (await fetch(`${prom.url}/api/v1/query?query=${query}`)).json();
      if (r.status === 'success' && r.data.result.length > 0) value = Number(r.data.result[0].value[1]);
    } catch {
      // Prometheus still starting.
    }
  }
  assert.equal(value, 3);
  // Every finished request waited in the queue once: the queue-time histogram counts them.
  const text = await (await fetch(server.url + '/metrics')).text();
  assert.match(text, /tenbin_request_queue_time_seconds_count\{model_name="llama"\} 3\n/);
});
