// JamConnection: the page's one WebSocket to jamd, carrying jam.v1 messages in the
// WebClientMessage / WebServerMessage envelope (protos/jam/v1/web.proto, docs/web.md). Requests
// get promises resolved by request_id; stream items (events, audio, notes) go to callbacks.
import { jam } from 'jamd-gen/jam_pb.js';

const { WebClientMessage, WebServerMessage } = jam.v1;

export class JamError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export class JamConnection {
  constructor({ onEvent, onAudio, onNote, onClose }) {
    this.handlers = { onEvent, onAudio, onNote, onClose };
    this.pending = new Map();
    this.nextRequestId = 1;
    this.socket = null;
  }

  // Opens ws(s)://<this page's host>/ws: same origin, as the server insists.
  open() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`${scheme}//${location.host}/ws`);
      socket.binaryType = 'arraybuffer';
      socket.onopen = () => resolve();
      socket.onerror = () => reject(new JamError(14, 'cannot reach jamd'));
      socket.onclose = (e) => this.closed(e);
      socket.onmessage = (e) => this.received(new Uint8Array(e.data));
      this.socket = socket;
    });
  }

  // Sends one request ({join: {...}}, {steer: {...}}, ...); resolves with the reply's payload.
  request(request) {
    const requestId = this.nextRequestId++;
    const bytes = WebClientMessage.encode(WebClientMessage.create({ requestId, ...request })).finish();
    return new Promise((resolve, reject) => {
      if (!this.socket || this.socket.readyState !== WebSocket.OPEN) {
        reject(new JamError(14, 'not connected to jamd'));
        return;
      }
      this.pending.set(requestId, { resolve, reject });
      this.socket.send(bytes);
    });
  }

  received(bytes) {
    const message = WebServerMessage.decode(bytes);
    switch (message.reply) {
      case 'event': return this.handlers.onEvent?.(message.event);
      case 'audio': return this.handlers.onAudio?.(message.audio);
      case 'note': return this.handlers.onNote?.(message.note);
      default: break;
    }
    const waiter = this.pending.get(message.requestId);
    if (!waiter) return;
    this.pending.delete(message.requestId);
    if (message.reply === 'error') {
      waiter.reject(new JamError(message.error.code, message.error.message));
    } else {
      waiter.resolve(message[message.reply]);
    }
  }

  closed(event) {
    for (const { reject } of this.pending.values()) reject(new JamError(14, 'connection closed'));
    this.pending.clear();
    this.handlers.onClose?.(event);
  }
}
