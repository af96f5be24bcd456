// Two people in one jam, each in their own headless Chromium context, through the real page and
// the real server: changes made in one page show in the other within 500 ms (the bound,
// judged on the median of nine changes so that one scheduling stall of a loaded CI machine does
// not decide it; every change must still arrive), locks show as locked, mood and the feed travel, oversized and flooding WebSocket
// clients are refused, and a screenshot is kept. With --serve (jamd serve --http) it also checks
// that the jam's audio arrives and decodes in the browser (AudioDecoder outputs counted).
//   node browser_test.mjs --host web_test_host --dist DIR --node-modules DIR --protos DIR --artifacts DIR
import fs from 'node:fs';
import path from 'node:path';
import { options, startTestHost, loadProtos, launchChromium, pageUrl, check } from './harness.mjs';

const PROPAGATION_BOUND_MS = 500; // issue #7
const opt = options();
fs.mkdirSync(opt.artifacts, { recursive: true });
const v1 = loadProtos(opt['node-modules'], opt.protos);
const server = await startTestHost(opt.host, opt.dist);
const browser = await launchChromium(opt['node-modules']);

const cspViolations = [];

async function openPage(token, name) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`[${name}] page error: ${e.message}`));
  page.on('console', (m) => { if (/Content.Security.Policy/i.test(m.text())) cspViolations.push(m.text()); });
  await page.goto(pageUrl(server.port, token, name));
  await page.waitForFunction(() => window.jamd?.page.state !== null && window.jamd.page.me !== null);
  return page;
}

// Changes one field through page `from`'s own input and returns how long until page `to`
// applied the jam's event for it (both on this machine's wall clock).
async function propagate(from, to, path, value) {
  const sentAtMs = await from.evaluate(([p, val]) => {
    const input = document.querySelector(`[data-testid="field-${p}"]`);
    if (input.type === 'checkbox') input.checked = val;
    else input.value = String(val);
    const t = Date.now();
    input.dispatchEvent(new Event('change'));
    return t;
  }, [path, value]);
  const appliedAtMs = await (await to.waitForFunction(([p, t]) => {
    const at = window.jamd.appliedAtMs[p];
    return at !== undefined && at >= t ? at : null;
  }, [path, sentAtMs])).jsonValue();
  return appliedAtMs - sentAtMs;
}

// Sends raw envelopes on a fresh same-origin WebSocket from a page; returns the close code (0:
// still open) and the replies (as byte arrays) once the socket closes, one reply per message
// came, or `waitMs` passed.
function rawSocket(page, messages, waitMs) {
  return page.evaluate(([msgs, wait]) => new Promise((resolve) => {
    const replies = [];
    const ws = new WebSocket(`ws://${location.host}/ws`);
    ws.binaryType = 'arraybuffer';
    const done = (code) => { ws.onclose = null; ws.close(); resolve({ code, replies }); };
    ws.onopen = () => { for (const m of msgs) ws.send(new Uint8Array(m)); };
    ws.onmessage = (e) => {
      replies.push([...new Uint8Array(e.data)]);
      if (replies.length === msgs.length) done(0);
    };
    ws.onclose = (e) => done(e.code);
    setTimeout(() => done(0), wait);
  }), [messages, waitMs]);
}

try {
  const ana = await openPage(server.host_token, 'ana'); // host
  const bo = await openPage(server.player_token, 'bo'); // player
  const cy = await openPage(server.listener_token, 'cy'); // listener
  await ana.waitForFunction(() => document.querySelectorAll('#people li').length === 3);
  const people = await ana.locator('#people').innerText();
  check(people.includes('ana (host)') && people.includes('bo (player)') && people.includes('cy (listener)'),
    `all three are here: ${people.replace(/\n/g, '; ')}`);
  check(await cy.locator('[data-testid="field-tempo_bpm"]').isDisabled(), 'a listener cannot steer');

  const latencies = [];
  for (const [from, to, path, value] of [
    [ana, bo, 'tempo_bpm', 137], [bo, ana, 'tempo_bpm', 92], [ana, bo, 'tempo_bpm', 118],
    [bo, ana, 'parts.bass.gm_program', 35], [ana, bo, 'parts.bass.gm_program', 34],
    [bo, ana, 'parts.bass.gm_program', 35], [ana, bo, 'mode', 2], [bo, ana, 'mode', 1],
    [bo, ana, 'parts.keys.muted', true],
  ]) latencies.push(await propagate(from, to, path, value));
  const sorted = [...latencies].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  console.log(`propagation page -> jamd -> other page (ms): ${latencies.join(', ')}; median ${median}, max ${sorted.at(-1)}`);
  check(median < PROPAGATION_BOUND_MS, `changes showed in the other page within ${PROPAGATION_BOUND_MS} ms (median of ${latencies.length})`);
  check(await ana.locator('[data-testid="field-parts.bass.gm_program"]').inputValue() === '35', "bo's bass sound shows in ana's page");
  await ana.waitForFunction(() => document.querySelector('#feed').innerText.includes('bo set parts.keys.muted to true'));
  check(true, "ana's feed says who changed what");

  await ana.locator('[data-testid="lock-tempo_bpm"]').click();
  await bo.waitForFunction(() => document.querySelector('[data-testid="field-tempo_bpm"]').disabled);
  check(await bo.locator('.control[data-path="tempo_bpm"] .locked-badge').isVisible(), "the host's lock shows as locked in bo's page");
  check(!(await ana.locator('[data-testid="field-tempo_bpm"]').isDisabled()), 'the host may still change a locked field');

  await bo.locator('#mood-editor button', { hasText: 'add prompt' }).click();
  await bo.locator('[data-testid="mood-text"]').fill('dark');
  await bo.locator('[data-testid="mood-weight"]').fill('2');
  await bo.locator('[data-testid="mood-send"]').click();
  await ana.waitForFunction(() => document.querySelector('#mood-merged').innerText.includes('dark'));
  check(true, "bo's mood prompt shows in ana's merged mood");
  await bo.locator('[data-testid="mood-text"]').fill('zzgloomy');
  await bo.locator('[data-testid="mood-send"]').click();
  await bo.waitForFunction(() => !document.querySelector('#error').hidden);
  check(/zzgloomy/.test(await bo.locator('#error').innerText()), 'an unknown mood word is refused with a message');

  // 0xff bytes are no protobuf: under the limit they earn an INVALID_ARGUMENT reply, over it
  // the socket closes unanswered (1009, or 1006 when the close frame loses the race with the
  // rest of the upload).
  const underLimit = await rawSocket(bo, [new Array(60000).fill(0xff)], 1000);
  check(underLimit.code === 0 && underLimit.replies.length === 1, 'a 60 kB message is read and answered');
  const tooBig = await rawSocket(bo, [new Array(70000).fill(0xff)], 5000);
  check([1009, 1006].includes(tooBig.code) && tooBig.replies.length === 0,
    `a 70 kB message, over the 64 KiB limit, closes the socket unanswered (code ${tooBig.code})`);
  const leave = [...v1.WebClientMessage.encode(v1.WebClientMessage.fromObject({ requestId: 9, leave: {} })).finish()];
  const flood = await rawSocket(bo, new Array(300).fill(leave), 3000);
  const codes = flood.replies.map((r) => v1.WebServerMessage.decode(Uint8Array.from(r)).error?.code);
  check(codes.includes(8), `a flood is rate limited: ${codes.filter((c) => c === 8).length} of ${codes.length} replies RESOURCE_EXHAUSTED`);
  const garbage = await rawSocket(bo, [[0xff, 0xff, 0xff]], 1000);
  const garbageCode = v1.WebServerMessage.decode(Uint8Array.from(garbage.replies[0])).error?.code;
  check(garbageCode === 3, 'an unparseable message gets INVALID_ARGUMENT and the server carries on');

  const shot = path.join(opt.artifacts, 'web_client.png');
  await ana.screenshot({ path: shot, fullPage: true });
  check(fs.statSync(shot).size > 10000, `screenshot saved: ${shot}`);
  await cy.context().close(); // cy's tab goes away without a word
  await ana.waitForFunction(() => document.querySelectorAll('#people li').length === 2 &&
    document.querySelector('#feed').innerText.includes('cy left'));
  check(true, 'a page that vanishes leaves the jam: the others see it go');
  const boId = await bo.evaluate(() => window.jamd.page.me.participantId);
  await ana.locator(`[data-testid="remove-${boId}"]`).click();
  await bo.waitForFunction(() => document.querySelector('#connection').innerText.includes('removed you'));
  check(true, 'the host removes a player, who is told');
  ana.on('dialog', (d) => d.accept());
  await ana.locator('[data-testid="end-jam"]').click();
  await ana.waitForFunction(() => document.querySelector('#connection').innerText.includes('the jam ended'));
  check(true, 'the host ends the jam');
  check(cspViolations.length === 0, `the page runs under its own Content-Security-Policy ${cspViolations.join('; ')}`);
  for (const token of [server.host_token, server.player_token]) {
    check(!server.logs.stderr.includes(token), 'the server never logs a token');
  }
} finally {
  await browser.close();
  server.stop();
}
