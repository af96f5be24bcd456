// The jitter buffer on the audio thread: decoded PCM arrives by port in bursts; playback starts
// once target_ms is buffered, re-buffers after an underrun, and skips ahead when the fill grows
// past max_ms (so latency stays bounded when packets bunch up). Reports its health ~10x/s.
class JitterBuffer extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const { targetMs = 60, maxMs = 250 } = options.processorOptions ?? {};
    this.capacity = sampleRate * 2; // 2 s ring per channel
    this.ring = [new Float32Array(this.capacity), new Float32Array(this.capacity)];
    this.readFrame = 0; // absolute frame counters; fill = write - read
    this.writeFrame = 0;
    this.targetFrames = Math.round((targetMs * sampleRate) / 1000);
    this.maxFrames = Math.round((maxMs * sampleRate) / 1000);
    this.playing = false;
    this.underruns = 0;
    this.skippedFrames = 0;
    this.playedFrames = 0;
    this.streamFrameAtRead = 0; // the jam's frame of the sample at readFrame (for the playhead)
    this.lastReportFrame = 0;
    this.port.onmessage = (e) => this.push(e.data);
  }

  push({ planes, streamFrame }) {
    const n = planes[0].length;
    if (this.writeFrame === this.readFrame) this.streamFrameAtRead = streamFrame;
    for (let c = 0; c < 2; c++) {
      const src = planes[Math.min(c, planes.length - 1)];
      for (let i = 0; i < n; i++) this.ring[c][(this.writeFrame + i) % this.capacity] = src[i];
    }
    this.writeFrame += n;
    const fill = this.writeFrame - this.readFrame;
    const excess = fill > this.maxFrames ? fill - this.targetFrames : Math.max(0, fill - this.capacity);
    if (excess > 0) {
      this.readFrame += excess;
      this.streamFrameAtRead += excess;
      this.skippedFrames += excess;
    }
  }

  process(_inputs, outputs) {
    const out = outputs[0];
    const n = out[0].length;
    const fill = this.writeFrame - this.readFrame;
    if (!this.playing && fill >= this.targetFrames) this.playing = true;
    if (this.playing && fill >= n) {
      for (let c = 0; c < out.length; c++) {
        const ring = this.ring[Math.min(c, 1)];
        for (let i = 0; i < n; i++) out[c][i] = ring[(this.readFrame + i) % this.capacity];
      }
      this.readFrame += n;
      this.streamFrameAtRead += n;
      this.playedFrames += n;
    } else {
      if (this.playing) this.underruns++;
      this.playing = false;
      for (const channel of out) channel.fill(0);
    }
    if (currentFrame - this.lastReportFrame >= sampleRate / 10) {
      this.lastReportFrame = currentFrame;
      this.port.postMessage({
        fillFrames: this.writeFrame - this.readFrame,
        underruns: this.underruns,
        skippedFrames: this.skippedFrames,
        playedFrames: this.playedFrames,
        streamFrame: this.streamFrameAtRead,
        playing: this.playing,
      });
    }
    return true;
  }
}

registerProcessor('jitter-buffer', JitterBuffer);
