/**
 * SHA-256 (FIPS 180-4), incremental. WebCrypto's `digest` takes the whole
 * input at once; a DKIM body hash has to be computed as the message streams
 * by, in bounded memory, so the body is hashed here. (The signature itself,
 * over a few kilobytes of header, goes through WebCrypto.)
 *
 * @module
 */

const K = new Int32Array([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
]);

/** An incremental SHA-256: `update` any number of times, then `digest` once. */
export class Sha256 {
  #h: Int32Array = new Int32Array([
    0x6a09e667,
    0xbb67ae85 | 0,
    0x3c6ef372,
    0xa54ff53a | 0,
    0x510e527f,
    0x9b05688c | 0,
    0x1f83d9ab,
    0x5be0cd19,
  ]);
  #w: Int32Array = new Int32Array(64);
  /** Bytes of an unfinished block. */
  #block: Uint8Array = new Uint8Array(64);
  #buffered = 0;
  /** Total length in bytes (exact up to 2^53). */
  #length = 0;
  #done = false;

  /** Adds bytes to the hash. */
  update(data: Uint8Array): this {
    if (this.#done) throw new Error("Sha256: digest already taken");
    const n = data.length;
    this.#length += n;
    let i = 0;
    if (this.#buffered > 0) {
      const take = Math.min(64 - this.#buffered, n);
      this.#block.set(data.subarray(0, take), this.#buffered);
      this.#buffered += take;
      i = take;
      if (this.#buffered < 64) return this;
      this.#compress(this.#block, 0, 64);
      this.#buffered = 0;
    }
    const whole = i + ((n - i) & ~63);
    if (whole > i) this.#compress(data, i, whole);
    if (whole < n) {
      this.#block.set(data.subarray(whole), 0);
      this.#buffered = n - whole;
    }
    return this;
  }

  /** Ends the hash and returns the 32-byte digest. */
  digest(): Uint8Array<ArrayBuffer> {
    if (this.#done) throw new Error("Sha256: digest already taken");
    const bits = this.#length * 8;
    const pad = new Uint8Array(
      ((this.#buffered < 56 ? 56 : 120) -
        this.#buffered) + 8,
    );
    pad[0] = 0x80;
    const view = new DataView(pad.buffer);
    view.setUint32(pad.length - 8, Math.floor(bits / 2 ** 32));
    view.setUint32(pad.length - 4, bits >>> 0);
    const length = this.#length;
    this.update(pad);
    this.#length = length;
    this.#done = true;
    const out = new Uint8Array(32);
    const outView = new DataView(out.buffer);
    for (let j = 0; j < 8; j++) outView.setInt32(j * 4, this.#h[j]!);
    return out;
  }

  /** Processes the 64-byte blocks of data[from, to). */
  #compress(data: Uint8Array, from: number, to: number): void {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const w = this.#w;
    const h = this.#h;
    let h0 = h[0]!, h1 = h[1]!, h2 = h[2]!, h3 = h[3]!;
    let h4 = h[4]!, h5 = h[5]!, h6 = h[6]!, h7 = h[7]!;
    for (let p = from; p < to; p += 64) {
      for (let t = 0; t < 16; t++) w[t] = view.getInt32(p + t * 4);
      for (let t = 16; t < 64; t++) {
        const x = w[t - 15]!;
        const y = w[t - 2]!;
        const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^
          (x >>> 3);
        const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^
          (y >>> 10);
        w[t] = (s1 + w[t - 7]! + s0 + w[t - 16]!) | 0;
      }
      let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, k = h7;
      for (let t = 0; t < 64; t++) {
        const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^
          ((e >>> 25) | (e << 7));
        const t1 = (k + s1 + ((e & f) ^ (~e & g)) + K[t]! + w[t]!) | 0;
        const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^
          ((a >>> 22) | (a << 10));
        const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        k = g;
        g = f;
        f = e;
        e = (d + t1) | 0;
        d = c;
        c = b;
        b = a;
        a = (t1 + t2) | 0;
      }
      h0 = (h0 + a) | 0;
      h1 = (h1 + b) | 0;
      h2 = (h2 + c) | 0;
      h3 = (h3 + d) | 0;
      h4 = (h4 + e) | 0;
      h5 = (h5 + f) | 0;
      h6 = (h6 + g) | 0;
      h7 = (h7 + k) | 0;
    }
    h[0] = h0;
    h[1] = h1;
    h[2] = h2;
    h[3] = h3;
    h[4] = h4;
    h[5] = h5;
    h[6] = h6;
    h[7] = h7;
  }
}
