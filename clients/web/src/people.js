// People: who is in the jam and a feed of who changed what, from the jam's events.
import { jam } from 'jamd-gen/jam_pb.js';

const Kind = jam.v1.EventKind;
const ROLE_NAMES = { 1: 'host', 2: 'player', 3: 'listener' };
const MAX_FEED_ITEMS = 200;

export class People {
  constructor({ list, feed }) {
    this.list = list;
    this.feed = feed;
    this.names = new Map(); // participant id -> display name
  }

  // onRemove(participantId): given to the host, who gets a remove button beside the others.
  showParticipants(participants, myId, onRemove) {
    this.list.replaceChildren();
    for (const p of participants) {
      this.names.set(p.participantId, p.displayName);
      const li = document.createElement('li');
      li.textContent = `${p.displayName} (${ROLE_NAMES[p.role] ?? '?'})${p.participantId === myId ? ' — you' : ''}`;
      li.dataset.participantId = p.participantId;
      if (onRemove && p.participantId !== myId) {
        const remove = Object.assign(document.createElement('button'), { type: 'button', textContent: 'remove', className: 'lock' });
        remove.setAttribute('data-testid', `remove-${p.participantId}`);
        remove.addEventListener('click', () => onRemove(p.participantId));
        li.append(' ', remove);
      }
      this.list.append(li);
    }
  }

  // One line per event: "ana set tempo_bpm to 120", "bo joined".
  addEvent(event, describeValue) {
    const who = event.by?.displayName || 'jamd';
    const subject = this.names.get(event.subjectParticipantId) ?? event.subjectParticipantId;
    let text;
    switch (event.kind) {
      case Kind.EVENT_KIND_SNAPSHOT: return;
      case Kind.EVENT_KIND_STEERED:
        text = `${who} set ${event.changedPaths.map((p) => `${p} to ${describeValue(event.state, p)}`).join(', ')}`;
        break;
      case Kind.EVENT_KIND_JOINED: text = `${subject} joined`; break;
      case Kind.EVENT_KIND_LEFT: text = `${subject} left`; break;
      case Kind.EVENT_KIND_REMOVED: text = `${who} removed ${subject}`; break;
      case Kind.EVENT_KIND_LOCKS_CHANGED: text = `${who} changed locks on ${event.changedPaths.join(', ')}`; break;
      case Kind.EVENT_KIND_JAM_ENDED: text = `${who} ended the jam`; break;
      case Kind.EVENT_KIND_EVENTS_DROPPED: text = `(this page missed ${event.nDropped} changes)`; break;
      default: text = `event ${event.kind}`;
    }
    const li = document.createElement('li');
    const time = new Date(Number(event.timeUnixMs)).toLocaleTimeString();
    li.textContent = `${time} ${text}`;
    this.feed.prepend(li);
    while (this.feed.children.length > MAX_FEED_ITEMS) this.feed.lastChild.remove();
  }
}
