// AudioPlayer: the jam's Opus packets decoded with WebCodecs AudioDecoder and played through
// the jitter-buffer AudioWorklet. Counts what a listener wants to know: packets, losses (gaps
// in the sequence), decoder outputs, buffer fill, underruns, and the playout latency.
import workletUrl from './jitter_worklet.js?url';

const JITTER_TARGET_MS = 60; // about six 10 ms packets: rides out LAN jitter, adds little delay
const JITTER_MAX_MS = 250;

export class AudioPlayer {
  constructor() {
    this.stats = {
      packets: 0, lostPackets: 0, decoderOutputs: 0, decodeErrors: 0,
      bufferMs: 0, underruns: 0, skippedMs: 0, outputLatencyMs: 0, arrivalJitterMs: 0,
      daemonToDecodedMs: 0, playing: false,
    };
    this.lastSequence = null;
    this.decoder = null;
    this.context = null;
    this.node = null;
    this.playhead = null; // { frame, atMs }: the jam frame being heard, and when
    this.arrivalOffsets = [];
    this.encodedAtMs = new Map(); // chunk timestamp (us) -> when jamd encoded it (Unix ms)
    this.transitMs = [];
  }

  // Call from a click: browsers only start audio after a user gesture.
  async start() {
    this.context = new AudioContext({ sampleRate: 48000, latencyHint: 'interactive' });
    await this.context.audioWorklet.addModule(workletUrl);
    this.node = new AudioWorkletNode(this.context, 'jitter-buffer', {
      numberOfInputs: 0,
      outputChannelCount: [2],
      processorOptions: { targetMs: JITTER_TARGET_MS, maxMs: JITTER_MAX_MS },
    });
    this.node.port.onmessage = (e) => this.report(e.data);
    this.node.connect(this.context.destination);
    await this.context.resume();
  }

  report(r) {
    const sr = this.context.sampleRate;
    this.stats.bufferMs = (r.fillFrames / sr) * 1000;
    this.stats.underruns = r.underruns;
    this.stats.skippedMs = (r.skippedFrames / sr) * 1000;
    this.stats.playing = r.playing;
    this.stats.outputLatencyMs = ((this.context.baseLatency ?? 0) + (this.context.outputLatency ?? 0)) * 1000;
    if (r.playing) this.playhead = { frame: r.streamFrame - this.stats.outputLatencyMs * sr / 1000, atMs: performance.now() };
  }

  // From jamd's encoder to the ear: transit and decoding (measured per packet against the
  // packet's encoded_unix_us, so exact on one machine and as good as NTP across machines), then
  // what is buffered, then what the output device adds.
  latencyMs() {
    return this.stats.daemonToDecodedMs + this.stats.bufferMs + this.stats.outputLatencyMs;
  }

  push(packet) {
    const sequence = Number(packet.sequence);
    if (this.lastSequence !== null && sequence > this.lastSequence + 1) {
      this.stats.lostPackets += sequence - this.lastSequence - 1;
    }
    this.lastSequence = sequence;
    this.stats.packets++;
    this.trackArrival(packet);
    if (!this.decoder) this.configure(packet);
    if (this.decoder.state !== 'configured') return;
    const timestamp = Math.round((Number(packet.sampleTimeFrames) * 1e6) / packet.sampleRateHz);
    if (Number(packet.encodedUnixUs) > 0) this.encodedAtMs.set(timestamp, Number(packet.encodedUnixUs) / 1000);
    this.decoder.decode(new EncodedAudioChunk({
      type: 'key', // every Opus packet decodes on its own
      timestamp,
      data: packet.opusPacket,
    }));
  }

  // Arrival jitter: how late each packet is against the earliest one, over the last 200.
  trackArrival(packet) {
    const offset = performance.now() - (Number(packet.sampleTimeFrames) / packet.sampleRateHz) * 1000;
    this.arrivalOffsets.push(offset);
    if (this.arrivalOffsets.length > 200) this.arrivalOffsets.shift();
    const sorted = [...this.arrivalOffsets].sort((a, b) => a - b);
    this.stats.arrivalJitterMs = sorted[Math.floor(sorted.length * 0.95)] - sorted[0];
  }

  configure(packet) {
    this.sampleRateHz = packet.sampleRateHz;
    this.decoder = new AudioDecoder({
      output: (data) => this.decoded(data),
      error: () => { this.stats.decodeErrors++; },
    });
    this.decoder.configure({ codec: 'opus', sampleRate: packet.sampleRateHz, numberOfChannels: packet.nChannels });
  }

  decoded(data) {
    this.stats.decoderOutputs++;
    const encodedAt = this.encodedAtMs.get(data.timestamp);
    if (encodedAt !== undefined) {
      this.encodedAtMs.delete(data.timestamp);
      this.transitMs.push(Date.now() - encodedAt);
      if (this.transitMs.length > 200) this.transitMs.shift();
      const sorted = [...this.transitMs].sort((a, b) => a - b);
      this.stats.daemonToDecodedMs = sorted[Math.floor(sorted.length / 2)];
    }
    if (this.encodedAtMs.size > 1000) this.encodedAtMs.clear(); // decoder errors left some behind
    const planes = [];
    const n = data.numberOfFrames;
    if (data.format === 'f32-planar') {
      for (let c = 0; c < data.numberOfChannels; c++) {
        const plane = new Float32Array(n);
        data.copyTo(plane, { planeIndex: c });
        planes.push(plane);
      }
    } else {
      const interleaved = new Float32Array(n * data.numberOfChannels);
      data.copyTo(interleaved, { planeIndex: 0, format: 'f32' });
      for (let c = 0; c < data.numberOfChannels; c++) {
        const plane = new Float32Array(n);
        for (let i = 0; i < n; i++) plane[i] = interleaved[i * data.numberOfChannels + c];
        planes.push(plane);
      }
    }
    const streamFrame = Math.round((data.timestamp / 1e6) * this.sampleRateHz);
    data.close();
    this.node?.port.postMessage({ planes, streamFrame }, planes.map((p) => p.buffer));
  }
}
