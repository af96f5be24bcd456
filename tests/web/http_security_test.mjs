// The web server's HTTP face against a real server on loopback, over raw sockets so that no
// client library cleans the requests up first: the page and its types, the security headers,
// no way out of the static root, and the same-origin rule on the WebSocket upgrade.
//   node http_security_test.mjs --host web_test_host --dist DIR
import { options, startTestHost, rawHttp, check } from './harness.mjs';

const opt = options();
const server = await startTestHost(opt.host, opt.dist);
const { port } = server;
const get = (target, extra = []) => rawHttp(port, [`GET ${target} HTTP/1.1`, `Host: 127.0.0.1:${port}`, ...extra]);

try {
  const index = await get('/');
  check(index.status === 200 && index.body.includes('<!doctype html>'), 'GET / serves index.html');
  check(index.headers['content-type'] === 'text/html; charset=utf-8', 'index.html is text/html');
  check(/default-src 'self'/.test(index.headers['content-security-policy'] ?? '') &&
        /frame-ancestors 'none'/.test(index.headers['content-security-policy']),
  'pages carry a Content-Security-Policy');
  check(index.headers['x-content-type-options'] === 'nosniff', 'pages carry nosniff');
  const script = index.body.match(/src="(\/assets\/[^"]+\.js)"/)[1];
  const js = await get(script);
  check(js.status === 200 && js.headers['content-type'] === 'text/javascript; charset=utf-8',
    `${script} is served as JavaScript`);

  for (const target of ['/../../../../etc/passwd', '/..%2f..%2f..%2fetc%2fpasswd',
    '/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/assets/../../CMakeCache.txt', '/..\\..\\etc\\passwd',
    '//etc/passwd', '/%2e%2e%5c%2e%2e%5cetc%5cpasswd']) {
    const r = await get(target);
    check(r.status === 404 && !r.body.includes('root:'), `no path traversal: ${target} -> ${r.status}`);
  }
  const post = await rawHttp(port, ['POST / HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Content-Length: 0']);
  check(post.status === 405, 'POST is refused with 405');

  const upgrade = (origin) => rawHttp(port, ['GET /ws HTTP/1.1', `Host: 127.0.0.1:${port}`,
    'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', ...(origin ? [`Origin: ${origin}`] : [])]);
  check((await upgrade(`http://127.0.0.1:${port}`)).status === 101, 'same-origin WebSocket upgrade is accepted');
  check((await upgrade('http://evil.example')).status === 403, 'cross-origin WebSocket upgrade is refused (403)');
  check((await upgrade(`http://127.0.0.1:${port + 1}`)).status === 403, 'another port is another origin (403)');
  check((await upgrade(null)).status === 403, 'an upgrade without Origin is refused (403)');
  for (const token of [server.host_token, server.player_token, server.listener_token]) {
    check(!server.logs.stderr.includes(token), 'the server never logs a token');
  }
} finally {
  server.stop();
}
