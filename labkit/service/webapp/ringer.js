// The ring: a phone's two-tone ring for an incoming call, a slower ringback while yours rings elsewhere.
// Made with Web Audio (no sound files); `window.labkit.ringer.ringing` says which one plays, for tests.

const PATTERNS = {
  incoming: { tones: [440, 480], on: 0.4, off: 0.2, repeat: 2, pause: 2.0 }, // two short rings, then a pause
  outgoing: { tones: [440, 480], on: 1.0, off: 0, repeat: 1, pause: 3.0 }, // ringback: a ring every 4 s
};

export class Ringer {
  constructor() {
    this.ringing = null; // "incoming", "outgoing" or null
    this._timer = null;
    this._context = null;
  }

  /** Start ringing (`incoming` or `outgoing`); nothing if it already rings that way. */
  ring(kind) {
    if (this.ringing === kind) return;
    this.stop();
    this.ringing = kind;
    const pattern = PATTERNS[kind];
    const cycle = (pattern.on + pattern.off) * pattern.repeat + pattern.pause;
    const play = () => {
      try {
        this._context ??= new AudioContext();
        const start = this._context.currentTime + 0.05;
        for (let i = 0; i < pattern.repeat; i++) this._burst(start + i * (pattern.on + pattern.off), pattern.on, pattern.tones);
      } catch (error) {
        console.warn("labkit: no ring sound", error); // a page without Web Audio still shows the call
      }
    };
    play();
    this._timer = setInterval(play, cycle * 1000);
  }

  stop() {
    clearInterval(this._timer);
    this._timer = null;
    this.ringing = null;
  }

  _burst(at, seconds, tones) {
    const gain = this._context.createGain();
    gain.gain.setValueAtTime(0, at);
    gain.gain.linearRampToValueAtTime(0.12, at + 0.02);
    gain.gain.setValueAtTime(0.12, at + seconds - 0.03);
    gain.gain.linearRampToValueAtTime(0, at + seconds);
    gain.connect(this._context.destination);
    for (const frequency of tones) {
      const tone = this._context.createOscillator();
      tone.frequency.value = frequency;
      tone.connect(gain);
      tone.start(at);
      tone.stop(at + seconds);
    }
  }
}
