//! The learned execution policy as the engine applies it: a Q-table over discretized states
//! (the tool's signal, return and volatility buckets, the position) and the greedy walk that
//! turns it into target positions. Learning the table is `train::ql`'s business.

mod state;

pub(crate) use state::state_base;
pub use state::{Market, StateSpec, market, state_index};

/// Target positions of the actions, by action index: 0 flat, 1 long, 2 short.
pub const ACTIONS: [i8; 3] = [0, 1, -1];

/// Errors of reading a stored policy.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A serialized Q-table has the wrong length for its spec.
    #[error("q-table bytes: expected {expected} bytes, got {got}")]
    Bytes {
        /// Expected byte count (states × 3 × 8).
        expected: usize,
        /// Byte count received.
        got: usize,
    },
}

/// A learned Q-table with the spec that defines its states.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct QTable {
    /// State discretization.
    pub spec: StateSpec,
    /// Q values, states × 3 (row-major by state, columns in action order).
    pub q: Vec<f64>,
}

impl QTable {
    /// The q values as little-endian f64 (the spec travels separately as JSON).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.q.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// Rebuilds a table from [`QTable::to_bytes`]; length must be `spec.states() * 24`.
    pub fn from_bytes(spec: StateSpec, bytes: &[u8]) -> Result<Self, PolicyError> {
        let expected = spec.states() * 3 * 8;
        if bytes.len() != expected {
            let got = bytes.len();
            return Err(PolicyError::Bytes { expected, got });
        }
        let q = bytes
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect();
        Ok(Self { spec, q })
    }

    /// Greedy action: argmax, ties -> lowest index (flat first); 0 outside the table.
    pub fn greedy(&self, state: usize) -> usize {
        self.q.get(3 * state..3 * state + 3).map_or(0, argmax3)
    }

    /// Number of states with any non-zero value.
    pub fn visited_states(&self) -> usize {
        self.q
            .chunks_exact(3)
            .filter(|r| r.iter().any(|v| *v != 0.0))
            .count()
    }
}

/// Argmax of a 3-value row, ties -> lowest index.
#[inline]
pub(crate) fn argmax3(row: &[f64]) -> usize {
    let b = usize::from(row[1] > row[0]);
    if row[2] > row[b] { 2 } else { b }
}

/// The learned execution policy: walks bars from flat, at each bar t >= warmup picks the
/// greedy action of (`signal[t]`, buckets at t, current position) and writes its position to
/// `out[t]` (earlier bars 0). Expects `out.len() == signal.len()`; extra bars are left 0.
pub fn policy_targets(table: &QTable, market: &Market, signal: &[i8], out: &mut [i8]) {
    out.fill(0);
    let spec = &table.spec;
    let (rb, vb) = (&market.return_bucket, &market.vol_bucket);
    let n = out.len().min(signal.len()).min(rb.len()).min(vb.len());
    let mut pos = 0i8;
    for t in spec.warmup()..n {
        let s = state_index(spec, signal[t], rb[t], vb[t], pos);
        pos = ACTIONS[table.greedy(s)];
        out[t] = pos;
    }
}
