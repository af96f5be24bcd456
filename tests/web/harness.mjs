// Shared by the web tests: command-line options, the server under test (web_test_host, or
// `jamd serve --http` with a jam made through jamctl), raw HTTP over a socket, the generated
// jam.v1 code, and Debian's Chromium through playwright-core (never a downloaded browser).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import fs from 'node:fs';

export function options() {
  const out = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
  return out;
}

export function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exit(1);
}

const startedMs = Date.now();
export function check(condition, message) {
  if (!condition) fail(message);
  console.log(`ok (${((Date.now() - startedMs) / 1000).toFixed(1)} s): ${message}`);
}

// Starts web_test_host STATIC_DIR; resolves with its JSON line (port, tokens) and a handle.
export function startTestHost(hostBinary, staticDir) {
  const child = spawn(hostBinary, [staticDir], { stdio: ['pipe', 'pipe', 'pipe'] });
  const logs = { stderr: '' };
  child.stderr.on('data', (d) => { logs.stderr += d; });
  return new Promise((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n')) resolve({ ...JSON.parse(line), child, logs, stop: () => child.stdin.end() });
    });
    child.on('exit', (code) => reject(new Error(`web_test_host exited (${code}): ${logs.stderr}`)));
  });
}

// One raw HTTP/1.1 exchange (so that nothing normalizes the target on the way); resolves with
// { status, headers, body } of the first response.
export function rawHttp(port, lines) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('latin1');
    socket.on('connect', () => socket.write(`${lines.join('\r\n')}\r\n\r\n`));
    socket.on('data', (d) => {
      data += d;
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine, ...headerLines] = data.slice(0, end).split('\r\n');
      const headers = {};
      for (const h of headerLines) {
        const i = h.indexOf(':');
        headers[h.slice(0, i).toLowerCase()] = h.slice(i + 1).trim();
      }
      const length = Number(headers['content-length'] ?? 0);
      if (data.length - end - 4 < length) return;
      socket.destroy();
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: data.slice(end + 4, end + 4 + length) });
    });
    socket.on('error', reject);
    socket.on('end', () => resolve({ status: 0, headers: {}, body: data }));
  });
}

// jam.v1 and its web envelope, loaded by protobuf.js from the same .proto files the page's
// generated code comes from (camelCase fields, as in the page).
export function loadProtos(nodeModules, protosDir) {
  const require = createRequire(path.join(nodeModules, '..', 'package.json'));
  const protobuf = require('protobufjs');
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) =>
    (path.isAbsolute(target) || target.startsWith('google/protobuf/') ? target : path.join(protosDir, target));
  root.loadSync(['jam/v1/jam.proto', 'jam/v1/web.proto']);
  return {
    WebClientMessage: root.lookupType('jam.v1.WebClientMessage'),
    WebServerMessage: root.lookupType('jam.v1.WebServerMessage'),
  };
}

export const CHROMIUM = process.env.JAMD_CHROMIUM || '/usr/bin/chromium';

// Launches Debian's Chromium headless; exits 77 (CTest: skipped) when it is not installed.
export async function launchChromium(nodeModules) {
  if (!fs.existsSync(CHROMIUM)) {
    console.log(`SKIP: no Chromium at ${CHROMIUM} (scripts/setup.sh installs Debian's chromium)`);
    process.exit(77);
  }
  const require = createRequire(path.join(nodeModules, '..', 'package.json'));
  const { chromium } = require('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
    args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required'],
  });
}

export function pageUrl(port, token, name) {
  return `http://127.0.0.1:${port}/#join=${encodeURIComponent(token)}&name=${encodeURIComponent(name)}`;
}
