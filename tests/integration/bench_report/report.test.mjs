// Opens the HTML report of a real `tenbin bench` sweep against `tenbin serve` in headless
// Chromium (the Debian package, driven by playwright-core): the page must load with no script
// errors and no network requests, draw every chart with data, and a screenshot must show them.
// TENBIN_BINARY and TENBIN_SHARED_DIR come from ctest; CHROMIUM_PATH overrides the browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const run = promisify(execFile);
const browserPath = [process.env.CHROMIUM_PATH, '/usr/lib/chromium/chromium', '/usr/bin/chromium']
  .find((p) => p && existsSync(p));

async function startServer() {
  const model = path.join(process.env.TENBIN_SHARED_DIR, 'models', 'stories260K.gguf');
  const child = spawn(process.env.TENBIN_BINARY, ['serve', '-m', model, '--host', '127.0.0.1',
    '--port', '0', '--kv-cache-gib', '0.05', '--threads', '2'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start:\n' + log)), 60000);
    child.stderr.on('data', (d) => {
      log += d.toString();
      const m = log.match(/ready: .* on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${log}`)));
  });
  return { url, stop: () => new Promise((resolve) => { child.on('exit', resolve); child.kill('SIGTERM'); }) };
}

const RUN_CHARTS = ['cdf-ttft', 'cdf-tpot-itl', 'cdf-e2el', 'hist-ttft', 'hist-itl',
  'throughput-time', 'requests-time', 'concurrency-time'];

test('the HTML report renders every chart in headless Chromium', { skip: !browserPath && 'no chromium' },
  async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tenbin-report-'));
    const server = await startServer();
    let browser;
    try {
      const html = path.join(dir, 'report.html');
      await run(process.env.TENBIN_BINARY, ['bench', '--url', server.url, '--concurrency', '1,4',
        '--num-requests', '12', '--input-len', '16', '--output-len', '16', '--range-ratio', '0.5',
        '--slo', 'ttft=5s', '--price-per-hour', '1.0', '--no-progress', '--html', html]);

      browser = await chromium.launch({ executablePath: browserPath, args: ['--no-sandbox'] });
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const errors = [];
      const network = [];
      page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
      page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
      page.on('request', (r) => { if (!r.url().startsWith('file:')) network.push(r.url()); });
      await page.goto(pathToFileURL(html).href);
      await page.waitForSelector('body[data-rendered="true"]', { timeout: 10000 });
      assert.deepEqual(errors, []);
      assert.deepEqual(network, [], 'the report must not touch the network');

      // Two levels, each with all of its charts; plus the sweep's throughput-latency curves.
      const charts = await page.$$eval('svg.chart', (svgs) => svgs.map((s) => ({
        id: s.getAttribute('data-chart'),
        section: s.closest('section').id,
        paths: [...s.querySelectorAll('path.series')].filter((p) => p.getAttribute('d').length > 10).length,
        bars: [...s.querySelectorAll('g.series rect')].filter((r) => +r.getAttribute('height') > 0).length,
        dots: s.querySelectorAll('circle').length,
        width: s.getBoundingClientRect().width,
      })));
      for (const section of ['run-0', 'run-1']) {
        for (const id of RUN_CHARTS) {
          const c = charts.find((x) => x.section === section && x.id === id);
          assert.ok(c, `${section} lacks chart ${id}`);
          assert.ok(c.width > 100, `${section}/${id} has no size`);
          assert.ok(c.paths + c.bars > 0, `${section}/${id} draws no data`);
        }
      }
      for (const id of ['sweep-ttft', 'sweep-tpot']) {
        const c = charts.find((x) => x.id === id);
        assert.ok(c && c.dots === 4, `${id}: expected 2 levels x (median, p99) points`);
      }
      const cells = await page.$$eval('table.summary td', (tds) => tds.map((t) => t.textContent));
      assert.ok(cells.includes('Successful requests'));

      // The screenshot is not blank: a good share of non-white pixels, some in chart blue.
      const shot = path.join(dir, 'report.png');
      await page.screenshot({ path: shot, fullPage: true });
      if (process.env.BENCH_REPORT_SCREENSHOT) writeFileSync(process.env.BENCH_REPORT_SCREENSHOT, readFileSync(shot));
      const probe = await browser.newPage();
      const stats = await probe.evaluate(async (dataUrl) => {
        const img = new Image();
        img.src = dataUrl;
        await img.decode();
        const canvas = document.createElement('canvas');
        canvas.width = img.width; canvas.height = img.height;
        const ctx = canvas.getContext('2d');
        ctx.drawImage(img, 0, 0);
        const d = ctx.getImageData(0, 0, img.width, img.height).data;
        let ink = 0, blue = 0;
        for (let i = 0; i < d.length; i += 4) {
          if (d[i] < 240 || d[i + 1] < 240 || d[i + 2] < 240) ink++;
          if (d[i + 2] > 150 && d[i] < 80 && d[i + 1] > 90 && d[i + 1] < 150) blue++;
        }
        return { ink: ink / (d.length / 4), blue, width: img.width, height: img.height };
      }, 'data:image/png;base64,' + readFileSync(shot).toString('base64'));
      assert.ok(stats.height > 900, `page too short: ${stats.height}`);
      assert.ok(stats.ink > 0.02, `screenshot looks blank (${(stats.ink * 100).toFixed(2)}% ink)`);
      assert.ok(stats.blue > 500, `no chart lines in the screenshot (${stats.blue} blue pixels)`);
    } finally {
      if (browser) await browser.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
