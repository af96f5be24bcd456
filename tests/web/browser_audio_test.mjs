// The jam's audio in the browser: `jamd serve --http --demo` plays a jam with the bundled model;
// a page joins from the printed link, presses Listen, and must decode the jam's Opus packets
// with WebCodecs (AudioDecoder outputs counted) and see the band's notes. The page's audio
// figures are printed, and a screenshot of the playing page is kept.
//   node browser_audio_test.mjs --jamd JAMD --dist DIR --node-modules DIR --artifacts DIR
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { options, launchChromium, check } from './harness.mjs';

const DECODED_PACKETS = 100; // 1 s of 10 ms packets: the stream flows, not a lucky first packet
const opt = options();
fs.mkdirSync(opt.artifacts, { recursive: true });

function startServe() {
  const child = spawn(opt.jamd, ['serve', '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0',
    '--web-root', opt.dist, '--demo'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs = { stdout: '', stderr: '' };
  child.stderr.on('data', (d) => { logs.stderr += d; });
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      logs.stdout += d;
      const link = logs.stdout.match(/web: (http:\/\/127\.0\.0\.1:\d+\/#join=(\S+))/);
      if (link) resolve({ child, logs, url: link[1], token: link[2] });
    });
    child.on('exit', (code) => reject(new Error(`jamd serve exited (${code}):\n${logs.stderr}`)));
  });
}

const serve = await startServe();
const browser = await launchChromium(opt['node-modules']);
try {
  const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  const cspViolations = [];
  page.on('console', (m) => { if (/Content.Security.Policy/i.test(m.text())) cspViolations.push(m.text()); });
  await page.goto(`${serve.url}&name=listener`);
  await page.waitForFunction(() => window.jamd?.page.me !== null);
  await page.locator('[data-testid="listen-button"]').click();
  await page.waitForFunction((n) => window.jamd.audio.decoderOutputs >= n, DECODED_PACKETS, { timeout: 30000 });
  const audio = await page.evaluate(() => ({ ...window.jamd.audio, notes: window.jamd.page.notes }));
  console.log(`audio in the page: ${JSON.stringify(audio)}`);
  check(audio.decoderOutputs >= DECODED_PACKETS && audio.decodeErrors === 0,
    `the jam's Opus packets decode in the browser (${audio.decoderOutputs} AudioDecoder outputs, 0 errors)`);
  await page.waitForFunction(() => window.jamd.page.notes > 0, null, { timeout: 30000 });
  check(true, 'the band\'s notes reach the piano roll');
  check(cspViolations.length === 0, `the AudioWorklet and WebCodecs run under the page's CSP ${cspViolations.join('; ')}`);
  const shot = path.join(opt.artifacts, 'web_client_playing.png');
  await page.screenshot({ path: shot, fullPage: true });
  check(fs.statSync(shot).size > 10000, `screenshot saved: ${shot}`);
  check(!serve.logs.stderr.includes(serve.token), "jamd serve's log never shows the token");
} finally {
  await browser.close();
  serve.child.kill('SIGTERM');
}
