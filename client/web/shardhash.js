// shardhash.js - which shard owns a key: the browser twin of shard/sc_shard.c.
//
// Weighted rendezvous hashing: every shard scores the key and the lowest
// score wins, ties going to the lower id. Each step repeats the C library bit
// for bit (docs/sharding.md): 64-bit hashing in BigInt, then only + - * / on
// doubles, which JavaScript and C both round correctly. Math.log is not used:
// it is not guaranteed to round like the C library's log, and one ulp of
// difference can change the owner. tests/vectors/shard_vectors.json holds the
// cases both implementations must agree on.
//
// Plain ES module, no dependencies, no build step.

export const ID_MAX = 64;
export const WEIGHT_MAX = 1000000;

const MASK64 = (1n << 64n) - 1n;
const FNV64_BASIS = 0xcbf29ce484222325n;
const FNV64_PRIME = 0x100000001b3n;
const SEED_SALT = 0x9e3779b97f4a7c15n;
const LN2 = 0.6931471805599453;
const SQRT1_2 = 0.7071067811865476;
// The shard-id alphabet: the C rule is sc_name_valid() in shard/sc_names.c
// (SC_NAME_MAX); the two must accept the same ids.
const ID_RE = /^[A-Za-z0-9._:-]{1,64}$/;
const TWO_32 = 4294967296;

const utf8 = new TextEncoder();

function fnv1a64(bytes) {
  let h = FNV64_BASIS;
  for (let i = 0; i < bytes.length; i++) {
    h = ((h ^ BigInt(bytes[i])) * FNV64_PRIME) & MASK64;
  }
  return h;
}

// splitmix64's finaliser.
function mix64(z) {
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

// Strings hash as their UTF-8 bytes; a lone surrogate becomes U+FFFD first,
// as TextEncoder does. Pass a Uint8Array to hash arbitrary bytes.
function keyBytes(key) {
  if (typeof key === 'string') return utf8.encode(key);
  if (key instanceof Uint8Array) return key;
  throw new TypeError('key must be a string or a Uint8Array');
}

function checkShard(id, weight) {
  if (typeof id !== 'string' || !ID_RE.test(id)) {
    throw new TypeError(`shard id must be 1..${ID_MAX} characters of [A-Za-z0-9._:-]`);
  }
  if (!Number.isInteger(weight) || weight < 1 || weight > WEIGHT_MAX) {
    throw new RangeError(`shard weight must be an integer in 1..${WEIGHT_MAX}`);
  }
}

function seedOf(id) {
  // ids are ASCII, so UTF-16 units are the bytes C hashes.
  return mix64((fnv1a64(utf8.encode(id)) + SEED_SALT) & MASK64);
}

// -ln(u) for u = n / 2^53, n = 2*(h >> 12) + 1: same operations, same order
// as neg_ln_u() in sc_shard.c.
function negLnU(h) {
  const n = Number(((h >> 12n) << 1n) | 1n); // odd, < 2^53: exact
  const hi = Math.floor(n / TWO_32);
  let e = hi ? 64 - Math.clz32(hi) : 32 - Math.clz32(n); // frexp's exponent
  let f = n / 2 ** e; // exact: scaling by a power of two
  if (f < SQRT1_2) {
    f *= 2;
    e -= 1;
  }
  const s = (f - 1) / (f + 1);
  const z = s * s;
  let t = 2 / 21;
  t = t * z + 2 / 19;
  t = t * z + 2 / 17;
  t = t * z + 2 / 15;
  t = t * z + 2 / 13;
  t = t * z + 2 / 11;
  t = t * z + 2 / 9;
  t = t * z + 2 / 7;
  t = t * z + 2 / 5;
  t = t * z + 2 / 3;
  const lnf = 2 * s + s * z * t;
  return (53 - e) * LN2 - lnf;
}

function keyHash(key) {
  return mix64(fnv1a64(keyBytes(key)));
}

/**
 * The score shard (id, weight) gives key; lower wins. Equal, bit for bit,
 * to sc_shard_score() in C. Throws TypeError/RangeError on a bad argument.
 */
export function score(key, id, weight) {
  checkShard(id, weight);
  return negLnU(mix64(keyHash(key) ^ seedOf(id))) / weight;
}

/**
 * The element of shards ([{id, weight, ...}], any order, ids unique) that
 * owns key (a string, hashed as UTF-8, or a Uint8Array), or null when shards
 * is empty. Same answer as sc_shardmap_owner() for the same shards. Extra
 * members such as url are ignored, so the "shards" array of the stored map
 * form can be passed as it is. Throws TypeError/RangeError on a bad argument.
 */
export function ownerOf(key, shards) {
  if (!Array.isArray(shards)) throw new TypeError('shards must be an array');
  const kh = keyHash(key);
  const seen = new Set();
  let best = null;
  let bestScore = 0;
  for (const shard of shards) {
    checkShard(shard?.id, shard?.weight);
    if (seen.has(shard.id)) throw new RangeError(`duplicate shard id ${shard.id}`);
    seen.add(shard.id);
    const s = negLnU(mix64(kh ^ seedOf(shard.id))) / shard.weight;
    if (best === null || s < bestScore || (s === bestScore && shard.id < best.id)) {
      best = shard;
      bestScore = s;
    }
  }
  return best;
}
