// Starts `tenbin serve` on a free loopback port for a test file and stops it (SIGTERM) after.
// TENBIN_BINARY and TENBIN_SHARED_DIR come from ctest.
import { spawn } from 'node:child_process';
import path from 'node:path';

export async function startServer(extraArgs = []) {
  const binary = process.env.TENBIN_BINARY;
  const model = path.join(process.env.TENBIN_SHARED_DIR, 'models', 'stories260K.gguf');
  const child = spawn(binary, ['serve', '-m', model, '--host', '127.0.0.1', '--port', '0',
    '--kv-cache-gib', '0.05', '--threads', '2', ...extraArgs], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start:\n' + log)), 30000);
    child.stderr.on('data', (d) => {
      log += d.toString();
      const m = log.match(/ready: .* on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${log}`)));
  });
  return {
    url,
    async stop() {
      const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      return exited;
    },
  };
}
