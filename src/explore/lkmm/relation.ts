// Relations over the events of one candidate execution, as bit matrices: the algebra a cat
// model is written in (union, intersection, difference, sequence, inverse, closures, [S]
// restrictions) and its checks (acyclic, irreflexive, empty). Executions have tens of events,
// so a row is a few words and every operation is a few thousand word operations. The words
// hold 16 bits in plain arrays: small integers, which the engine allocates far faster than
// typed arrays (a model check allocates a hundred relations).

/** Bits per word. */
const B = 16;
const SHIFT = 4;
const MASK = B - 1;

export type EvSet = number[];

function zeros(len: number): number[] {
  const a: number[] = [];
  for (let i = 0; i < len; i++) a.push(0);
  return a;
}

export class Rel {
  readonly w: number;
  readonly bits: number[];
  constructor(readonly n: number, bits?: number[]) {
    this.w = (n + MASK) >>> SHIFT;
    this.bits = bits ?? zeros(n * this.w);
  }
  has(i: number, j: number): boolean { return (this.bits[i * this.w + (j >>> SHIFT)]! & (1 << (j & MASK))) !== 0; }
  add(i: number, j: number): void { this.bits[i * this.w + (j >>> SHIFT)]! |= 1 << (j & MASK); }
  clone(): Rel { return new Rel(this.n, this.bits.slice()); }
  isEmpty(): boolean { for (const x of this.bits) if (x) return false; return true; }
  pairs(): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < this.n; i++) for (let j = 0; j < this.n; j++) if (this.has(i, j)) out.push([i, j]);
    return out;
  }
}

export function emptySet(n: number): EvSet { return zeros((n + MASK) >>> SHIFT); }
export function setHas(s: EvSet, i: number): boolean { return (s[i >>> SHIFT]! & (1 << (i & MASK))) !== 0; }
export function setAdd(s: EvSet, i: number): void { s[i >>> SHIFT]! |= 1 << (i & MASK); }
export function setOf(n: number, pred: (i: number) => boolean): EvSet {
  const s = emptySet(n);
  for (let i = 0; i < n; i++) if (pred(i)) setAdd(s, i);
  return s;
}
export function setUnion(...ss: EvSet[]): EvSet {
  const out = ss[0]!.slice();
  for (const s of ss.slice(1)) for (let k = 0; k < out.length; k++) out[k]! |= s[k]!;
  return out;
}
export function setMinus(a: EvSet, b: EvSet): EvSet {
  const out = a.slice();
  for (let k = 0; k < out.length; k++) out[k]! &= ~b[k]!;
  return out;
}

export function union(...rs: Rel[]): Rel {
  const out = rs[0]!.clone();
  for (const r of rs.slice(1)) for (let k = 0; k < out.bits.length; k++) out.bits[k]! |= r.bits[k]!;
  return out;
}
export function inter(...rs: Rel[]): Rel {
  const out = rs[0]!.clone();
  for (const r of rs.slice(1)) for (let k = 0; k < out.bits.length; k++) out.bits[k]! &= r.bits[k]!;
  return out;
}
export function minus(a: Rel, ...bs: Rel[]): Rel {
  const out = a.clone();
  for (const b of bs) for (let k = 0; k < out.bits.length; k++) out.bits[k]! &= ~b.bits[k]!;
  return out;
}

/** a ; b */
export function seq(a: Rel, b: Rel): Rel {
  const n = a.n, w = a.w, out = new Rel(n);
  for (let i = 0; i < n; i++) {
    const ro = i * w;
    for (let kw = 0; kw < w; kw++) {
      let word = a.bits[ro + kw]!;
      while (word) {
        const bit = word & -word;
        const j = (kw << SHIFT) + (31 - Math.clz32(bit));
        word ^= bit;
        const rb = j * w;
        for (let k = 0; k < w; k++) out.bits[ro + k]! |= b.bits[rb + k]!;
      }
    }
  }
  return out;
}
export function seqs(...rs: Rel[]): Rel { return rs.reduce((acc, r) => seq(acc, r)); }

export function inverse(a: Rel): Rel {
  const out = new Rel(a.n);
  const w = a.w;
  for (let i = 0; i < a.n; i++) {
    for (let kw = 0; kw < w; kw++) {
      let word = a.bits[i * w + kw]!;
      while (word) {
        const bit = word & -word;
        word ^= bit;
        out.add((kw << SHIFT) + (31 - Math.clz32(bit)), i);
      }
    }
  }
  return out;
}

export function identity(n: number, s?: EvSet): Rel {
  const out = new Rel(n);
  for (let i = 0; i < n; i++) if (!s || setHas(s, i)) out.add(i, i);
  return out;
}

/** r? : r ∪ id */
export function opt(r: Rel): Rel {
  const out = r.clone();
  for (let i = 0; i < r.n; i++) out.add(i, i);
  return out;
}

/** r+ (Warshall over bit rows). */
export function plus(r: Rel): Rel {
  const out = r.clone();
  const n = r.n, w = r.w, b = out.bits;
  for (let k = 0; k < n; k++) {
    const rk = k * w, kw = k >>> SHIFT, kb = 1 << (k & MASK);
    for (let i = 0; i < n; i++) {
      if (b[i * w + kw]! & kb) for (let x = 0; x < w; x++) b[i * w + x]! |= b[rk + x]!;
    }
  }
  return out;
}
/** r* */
export function star(r: Rel): Rel { return opt(plus(r)); }

/** [S] ; r ; [T] (either side may be omitted). */
export function restrict(r: Rel, dom?: EvSet, rng?: EvSet): Rel {
  const out = r.clone();
  const n = r.n, w = r.w;
  for (let i = 0; i < n; i++) {
    if (dom && !setHas(dom, i)) { out.bits.fill(0, i * w, i * w + w); continue; }
    if (rng) for (let k = 0; k < w; k++) out.bits[i * w + k]! &= rng[k]!;
  }
  return out;
}

/** S × T */
export function cross(n: number, a: EvSet, b: EvSet): Rel {
  const out = new Rel(n);
  for (let i = 0; i < n; i++) if (setHas(a, i)) for (let k = 0; k < out.w; k++) out.bits[i * out.w + k] = b[k]!;
  return out;
}

export function irreflexive(r: Rel): boolean {
  for (let i = 0; i < r.n; i++) if (r.has(i, i)) return false;
  return true;
}
export function acyclic(r: Rel): boolean { return irreflexive(plus(r)); }

export function domainOf(r: Rel): EvSet { return setOf(r.n, (i) => { for (let k = 0; k < r.w; k++) if (r.bits[i * r.w + k]) return true; return false; }); }
export function rangeOf(r: Rel): EvSet {
  const s = emptySet(r.n);
  for (let i = 0; i < r.n; i++) for (let k = 0; k < r.w; k++) s[k]! |= r.bits[i * r.w + k]!;
  return s;
}

/** The relation of the pairs `pred` accepts. */
export function relOf(n: number, pred: (i: number, j: number) => boolean): Rel {
  const out = new Rel(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (pred(i, j)) out.add(i, j);
  return out;
}
