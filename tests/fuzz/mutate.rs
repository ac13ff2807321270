//! The mutation engine: a small deterministic PRNG and byte- and token-level mutators.
//!
//! Everything is a pure function of the seed, so a run that finds a crash is replayed by running
//! again with the same seed (and the printed input index); nothing here reads the clock.

/// SplitMix64 (Steele, Lea & Flood 2014): one u64 of state, full period, good enough to pick
/// mutations; chosen for being a few lines with no dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`); the modulo bias is irrelevant for fuzzing.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A length biased towards small values: most mutations should be local.
    pub fn small_len(&mut self, max: usize) -> usize {
        let cap = [4, 16, 64, 512][self.below(4)].min(max.max(1));
        1 + self.below(cap)
    }
}

/// Byte values that sit on boundaries of signed/unsigned widths and of lengths.
const INTERESTING_BYTES: [u8; 8] = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe, 0x40, 0x20];

/// Offsets where a mutation is most likely to reach parsing code rather than raw sample values:
/// the caller passes, for example, the positions of HDF5 metadata signatures. Half of the
/// position-based mutations land within 512 bytes after one of these.
pub struct Hotspots<'a>(pub &'a [usize]);

fn position(rng: &mut Rng, len: usize, hot: &Hotspots) -> usize {
    if len == 0 {
        return 0;
    }
    if !hot.0.is_empty() && rng.chance(2) {
        let base = *rng.pick(hot.0);
        return (base + rng.below(512)).min(len - 1);
    }
    rng.below(len)
}

/// One byte-level mutation of `data` in place; `other` is a second corpus entry for splices.
/// Returns the mutation's name, for the report of a crash.
pub fn mutate_bytes(rng: &mut Rng, data: &mut Vec<u8>, other: &[u8], hot: &Hotspots, max_len: usize) -> &'static str {
    if data.is_empty() {
        data.push(rng.next_u64() as u8);
        return "grow from empty";
    }
    let len = data.len();
    match rng.below(11) {
        0 => {
            let at = position(rng, len, hot);
            data[at] ^= 1 << rng.below(8);
            "bit flip"
        }
        1 => {
            let at = position(rng, len, hot);
            data[at] = *rng.pick(&INTERESTING_BYTES);
            "interesting byte"
        }
        2 => {
            // A whole little-endian integer field set to a boundary value: HDF5 stores sizes,
            // dimensions and addresses as 2-, 4- or 8-byte little-endian integers.
            let width = *rng.pick(&[2usize, 4, 8]);
            let at = position(rng, len, hot).min(len.saturating_sub(width));
            let value: u64 = *rng.pick(&[0, 1, u64::MAX, i64::MAX as u64, 1 << 31, u32::MAX as u64, 1 << 40, (len as u64) * 2]);
            for (k, b) in value.to_le_bytes().iter().take(width.min(len - at)).enumerate() {
                data[at + k] = *b;
            }
            "interesting integer"
        }
        3 => {
            let at = position(rng, len, hot);
            let n = rng.small_len(len - at);
            for b in data.iter_mut().skip(at).take(n) {
                *b = rng.next_u64() as u8;
            }
            "random run"
        }
        4 => {
            let keep = rng.below(len);
            data.truncate(keep);
            "truncate"
        }
        5 => {
            let n = rng.small_len(max_len.saturating_sub(len).max(1));
            let fill: Vec<u8> = (0..n).map(|_| if rng.chance(2) { 0 } else { rng.next_u64() as u8 }).collect();
            data.extend(fill);
            "extend"
        }
        6 => {
            let at = position(rng, len, hot);
            let n = rng.small_len(len - at);
            let chunk = data[at..(at + n).min(len)].to_vec();
            let to = rng.below(len + 1);
            data.splice(to..to, chunk);
            "duplicate chunk"
        }
        7 => {
            let at = position(rng, len, hot);
            let n = rng.small_len(len - at);
            data.drain(at..(at + n).min(len));
            "delete chunk"
        }
        8 => {
            // Copy a chunk over another place without changing the length (offsets elsewhere in
            // the file stay valid, so the damage stays local).
            let from = rng.below(len);
            let n = rng.small_len(len - from);
            let chunk = data[from..(from + n).min(len)].to_vec();
            let to = position(rng, len, hot).min(len - chunk.len());
            data[to..to + chunk.len()].copy_from_slice(&chunk);
            "overwrite with own chunk"
        }
        9 if !other.is_empty() => {
            let cut = rng.below(len);
            let from = rng.below(other.len());
            data.truncate(cut);
            data.extend_from_slice(&other[from..]);
            "splice"
        }
        _ => {
            let at = position(rng, len, hot);
            let delta = 1 + rng.below(16) as u8;
            data[at] = if rng.chance(2) { data[at].wrapping_add(delta) } else { data[at].wrapping_sub(delta) };
            "arithmetic"
        }
    }
}

/// Replacements for a numeric token: sizes that overflow, negatives, non-finite spellings and
/// the empty string.
pub const HOSTILE_NUMBERS: [&str; 20] = [
    "0",
    "-1",
    "-0",
    "1e308",
    "-1e308",
    "1e-320",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "",
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775807",
    "-9223372036854775808",
    "4294967296",
    "2147483648",
    "1000000000000",
    "0.5",
    "1_000_000",
];

/// True for a token that reads as a number (so it can be swapped for a hostile one).
fn is_numeric(token: &str) -> bool {
    let t = token.trim_start_matches(['+', '-']);
    !t.is_empty() && t.bytes().next().is_some_and(|b| b.is_ascii_digit()) && t.parse::<f64>().is_ok()
}

/// One token-level mutation of `tokens`; `dictionary` holds tokens to insert (other words of the
/// same language) and `other` a second corpus entry for splices.
pub fn mutate_tokens(rng: &mut Rng, tokens: &mut Vec<String>, dictionary: &[String], other: &[String]) -> &'static str {
    if tokens.is_empty() {
        tokens.push(rng.pick(dictionary).clone());
        return "insert into empty";
    }
    let len = tokens.len();
    match rng.below(8) {
        0 => {
            let (a, b) = (rng.below(len), rng.below(len));
            tokens.swap(a, b);
            "swap tokens"
        }
        1 => {
            let at = rng.below(len);
            let n = rng.small_len(len - at).min(len - at);
            tokens.drain(at..at + n);
            "delete tokens"
        }
        2 => {
            let at = rng.below(len);
            let n = rng.small_len(len - at).min(len - at);
            let run: Vec<String> = tokens[at..at + n].to_vec();
            let to = rng.below(len + 1);
            tokens.splice(to..to, run);
            "duplicate tokens"
        }
        3 => {
            let numeric: Vec<usize> = (0..len).filter(|&i| is_numeric(&tokens[i])).collect();
            let at = if numeric.is_empty() { rng.below(len) } else { *rng.pick(&numeric) };
            tokens[at] = rng.pick(&HOSTILE_NUMBERS).to_string();
            "hostile number"
        }
        4 => {
            let at = rng.below(len + 1);
            tokens.insert(at, rng.pick(dictionary).clone());
            "insert dictionary token"
        }
        5 => {
            let at = rng.below(len);
            tokens[at] = rng.pick(dictionary).clone();
            "replace with dictionary token"
        }
        6 if !other.is_empty() => {
            let cut = rng.below(len + 1);
            let from = rng.below(other.len());
            tokens.truncate(cut);
            tokens.extend_from_slice(&other[from..]);
            "splice"
        }
        _ => {
            let keep = rng.below(len);
            tokens.truncate(keep);
            "truncate tokens"
        }
    }
}
