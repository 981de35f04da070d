// The ordered set of allocated IOVA ranges: what the kernel keeps in a red-black tree
// (drivers/iommu/iova.c, rbroot ordered by pfn_lo). The kernel's results depend only on the
// order of the ranges, never on the tree's shape, so this is a treap of our own with parent
// links — and with two annotations that let alloc.ts find a fitting gap in O(log n) where
// the kernel walks ranges one by one:
//
//   gap      free PFNs between this range and its predecessor (0 for the lowest range)
//   ord      the largest k such that that gap holds a 2^k-aligned block of 2^k PFNs (−1: none)
//   maxGap / maxOrd / count: the same over the node's subtree (count = nodes in it)
//
// Everything here runs under the domain's tree lock.

import { IovaDomainBlock, iovaBlock } from "./layout";

/**
 * A range in the tree (struct iova, plus our treap's links and annotations): an object of
 * the domain's node pool, NODE_SIZE bytes, or the anchor embedded in the domain block.
 */
@unmanaged export class IovaNode {
  /** pfn_lo: the range's first PFN (the tree's key). */
  lo: u64;
  /** pfn_hi: its last PFN (inclusive). */
  hi: u64;
  /** Free PFNs between this range and its predecessor (0 for the lowest range). */
  gap: u64;
  /** The largest gap in this node's subtree. */
  maxGap: u64;
  /** Left child (node address, 0 = none): lower ranges. */
  left: u32;
  /** Right child (node address, 0 = none): higher ranges. */
  right: u32;
  /** Parent (node address, 0 for the root). */
  parent: u32;
  /** Treap priority, from the node's address (a parent's is never lower than its children's). */
  priority: u32;
  /** Nodes in this subtree, itself included. */
  count: u32;
  /** The largest k such that the gap holds a 2^k-aligned block of 2^k PFNs (−1: none). */
  ord: i8;
  /** The largest ord in this node's subtree. */
  maxOrd: i8;
}
/** A node's size in its pool: a cache line (the anchor has the same room in the domain block). */
export const NODE_SIZE: u32 = 64;
if (offsetof<IovaNode>() > NODE_SIZE) ERROR("IovaNode outgrew NODE_SIZE");
if (offsetof<IovaDomainBlock>("allocs") - offsetof<IovaDomainBlock>("anchor") < NODE_SIZE) {
  ERROR("IovaDomainBlock.anchor has less room than NODE_SIZE");
}
// Read by the TypeScript side (src/iova.ts walks the tree and reads ranges).
export const N_LO: u32 = offsetof<IovaNode>("lo");
export const N_HI: u32 = offsetof<IovaNode>("hi");
export const N_LEFT: u32 = offsetof<IovaNode>("left");
export const N_RIGHT: u32 = offsetof<IovaNode>("right");

/** The node at address `n`, as its record. */
@inline function node(n: u32): IovaNode {
  return changetype<IovaNode>(n);
}

@inline export function lo(n: u32): u64 { return node(n).lo; }
@inline export function hi(n: u32): u64 { return node(n).hi; }
@inline export function left(n: u32): u32 { return node(n).left; }
@inline export function right(n: u32): u32 { return node(n).right; }
@inline export function parent(n: u32): u32 { return node(n).parent; }
@inline function count(n: u32): u32 { return n == 0 ? 0 : node(n).count; }
@inline export function gap(n: u32): u64 { return node(n).gap; }
@inline export function ord(n: u32): i32 { return <i32>node(n).ord; }
@inline export function maxGap(n: u32): u64 { return node(n).maxGap; }
@inline export function maxOrd(n: u32): i32 { return <i32>node(n).maxOrd; }
@inline export function root(d: u32): u32 { return iovaBlock(d).root; }

/** A priority from the node's address: deterministic, and well spread by the mixer. */
function priorityOf(n: u32): u32 {
  let x = n * 0x9e3779b1;
  x ^= x >> 16;
  x *= 0x85ebca6b;
  x ^= x >> 13;
  return x;
}

/** A fresh node for [pfnLo, pfnHi], not yet linked. */
export function nodeInit(n: u32, pfnLo: u64, pfnHi: u64): void {
  const x = node(n);
  x.lo = pfnLo;
  x.hi = pfnHi;
  x.gap = 0;
  x.maxGap = 0;
  x.left = 0;
  x.right = 0;
  x.parent = 0;
  x.priority = priorityOf(n);
  x.count = 1;
  x.ord = -1;
  x.maxOrd = -1;
}

/** Largest k with a 2^k-aligned run of 2^k PFNs inside [a, b] (a ≤ b). */
function alignedOrder(a: u64, b: u64): i32 {
  const len = b - a + 1;
  if (len == 0) return 63; // the whole 64-bit space: cannot happen with an anchor present
  let k = <i32>(63 - clz(len));
  const mask: u64 = (<u64>1 << <u64>k) - 1;
  const x = (a + mask) & ~mask;
  // A run of length ≥ 2^k always holds an aligned 2^(k−1) block.
  if (x < a || x > b - mask) k--;
  return k;
}

/** Recompute a node's own gap from its predecessor (0 = none, the lowest node). */
export function setGap(n: u32, pred: u32): void {
  let g: u64 = 0;
  let k: i32 = -1;
  if (pred != 0) {
    const below = hi(pred);
    const nlo = lo(n);
    if (nlo > below + 1) {
      g = nlo - below - 1;
      k = alignedOrder(below + 1, nlo - 1);
    }
  }
  const x = node(n);
  x.gap = g;
  x.ord = <i8>k;
}

/** Recompute a node's subtree annotations from its children. */
function pull(n: u32): void {
  const l = left(n);
  const r = right(n);
  let mg = gap(n);
  let mo = ord(n);
  let c: u32 = 1;
  if (l != 0) {
    c += node(l).count;
    if (maxGap(l) > mg) mg = maxGap(l);
    if (maxOrd(l) > mo) mo = maxOrd(l);
  }
  if (r != 0) {
    c += node(r).count;
    if (maxGap(r) > mg) mg = maxGap(r);
    if (maxOrd(r) > mo) mo = maxOrd(r);
  }
  const x = node(n);
  x.count = c;
  x.maxGap = mg;
  x.maxOrd = <i8>mo;
}

function pullToRoot(n: u32): void {
  while (n != 0) {
    pull(n);
    n = parent(n);
  }
}

/** Replace `old` by `repl` in old's parent (or as the root). */
function relink(d: u32, old: u32, repl: u32): void {
  const p = parent(old);
  if (p == 0) iovaBlock(d).root = repl;
  else if (left(p) == old) node(p).left = repl;
  else node(p).right = repl;
  if (repl != 0) node(repl).parent = p;
}

/** Rotate `x` above its parent, keeping the order and both nodes' annotations. */
function rotateUp(d: u32, x: u32): void {
  const p = parent(x);
  relink(d, p, x);
  if (left(p) == x) {
    const b = right(x);
    node(p).left = b;
    if (b != 0) node(b).parent = p;
    node(x).right = p;
  } else {
    const b = left(x);
    node(p).right = b;
    if (b != 0) node(b).parent = p;
    node(x).left = p;
  }
  node(p).parent = x;
  pull(p);
  pull(x);
}

export function first(d: u32): u32 {
  let n = root(d);
  if (n == 0) return 0;
  while (left(n) != 0) n = left(n);
  return n;
}

export function last(d: u32): u32 {
  let n = root(d);
  if (n == 0) return 0;
  while (right(n) != 0) n = right(n);
  return n;
}

/** rb_prev: the next lower range, or 0. */
export function pred(n: u32): u32 {
  let c = left(n);
  if (c != 0) {
    while (right(c) != 0) c = right(c);
    return c;
  }
  let p = parent(n);
  while (p != 0 && left(p) == n) {
    n = p;
    p = parent(p);
  }
  return p;
}

/** rb_next: the next higher range, or 0. */
export function succ(n: u32): u32 {
  let c = right(n);
  if (c != 0) {
    while (left(c) != 0) c = left(c);
    return c;
  }
  let p = parent(n);
  while (p != 0 && right(p) == n) {
    n = p;
    p = parent(p);
  }
  return p;
}

/**
 * Nodes floorNode has stepped through on this thread, ever: the O(log n) search reads the
 * difference around a search to count its own work (a Wasm global, per instance; the tree
 * lock is held across the search, so nothing else moves it in between).
 */
let descended: u64 = 0;

/** How many nodes floorNode has stepped through on this thread (see `descended`). */
@inline export function descents(): u64 { return descended; }

/** The highest range whose pfn_lo ≤ key, or 0. */
export function floorNode(d: u32, key: u64): u32 {
  let n = root(d);
  let best: u32 = 0;
  while (n != 0) {
    descended++;
    if (lo(n) <= key) {
      best = n;
      n = right(n);
    } else {
      n = left(n);
    }
  }
  return best;
}

/** The highest range whose pfn_lo < key, or 0. */
@inline export function belowNode(d: u32, key: u64): u32 {
  return key == 0 ? 0 : floorNode(d, key - 1);
}

/** The lowest range with pfn_hi ≥ key, or 0. */
export function lowestEndingAtOrAbove(d: u32, key: u64): u32 {
  const f = floorNode(d, key);
  if (f == 0) return first(d);
  return hi(f) >= key ? f : succ(f);
}

/** private_find_iova: the range containing pfn, or 0. */
export function findContaining(d: u32, pfn: u64): u32 {
  let n = root(d);
  while (n != 0) {
    if (pfn < lo(n)) n = left(n);
    else if (pfn > hi(n)) n = right(n);
    else return n;
  }
  return 0;
}

/** 0-based position of n in address order (how many ranges lie below it). */
export function rank(n: u32): u32 {
  let r = count(left(n));
  let p = parent(n);
  while (p != 0) {
    if (right(p) == n) r += count(left(p)) + 1;
    n = p;
    p = parent(p);
  }
  return r;
}

/**
 * Link a fresh node in address order. False (and nothing linked) if a range with the same
 * pfn_lo is present — where the kernel's insert WARNs.
 */
export function insertNode(d: u32, n: u32): bool {
  const key = lo(n);
  let p: u32 = 0;
  let c = root(d);
  let goLeft = false;
  while (c != 0) {
    p = c;
    const k = lo(c);
    if (key < k) { goLeft = true; c = left(c); }
    else if (key > k) { goLeft = false; c = right(c); }
    else return false;
  }
  node(n).parent = p;
  if (p == 0) iovaBlock(d).root = n;
  else if (goLeft) node(p).left = n;
  else node(p).right = n;

  // A new leaf's successor is one of its ancestors, so pulling to the root covers it.
  setGap(n, pred(n));
  const s = succ(n);
  if (s != 0) setGap(s, n);
  pullToRoot(n);
  // Restore the heap order on priorities.
  const prio = node(n).priority;
  while (parent(n) != 0 && node(parent(n)).priority < prio) rotateUp(d, n);
  iovaBlock(d).nodes++;
  return true;
}

/** Unlink a node (rb_erase). Its successor's gap grows to cover the freed range. */
export function eraseNode(d: u32, n: u32): void {
  const p0 = pred(n);
  const s0 = succ(n);
  // Rotate n down until it is a leaf; its neighbours in order are then its ancestors.
  for (;;) {
    const l = left(n);
    const r = right(n);
    if (l == 0 && r == 0) break;
    let c = l;
    if (l == 0 || (r != 0 && node(r).priority > node(l).priority)) c = r;
    rotateUp(d, c);
  }
  const p = parent(n);
  relink(d, n, 0);
  node(n).parent = 0;
  if (s0 != 0) setGap(s0, p0);
  pullToRoot(p);
  iovaBlock(d).nodes--;
}

/** A node's pfn_lo moved down into free space below it (reserve_iova's merge). */
export function lowerStart(n: u32, newLo: u64): void {
  node(n).lo = newLo;
  setGap(n, pred(n));
  pullToRoot(n);
}
