// xorshift64*: a small, seedable generator for the core's batched workload loops (the same
// seed gives the same addresses in every run and every worker). Not for anything modelled.

/** The next state (never 0 for a non-zero state). */
@inline export function xorshift64(x: u64): u64 {
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  return x;
}

/** A well-mixed 64-bit output for a state. */
@inline export function randomOf(x: u64): u64 {
  return x * 0x2545f4914f6cdd1d;
}

/** A non-zero starting state from a 32-bit seed. */
@inline export function seedState(seed: u32): u64 {
  return (<u64>seed << 32) ^ 0x9e3779b97f4a7c15;
}
