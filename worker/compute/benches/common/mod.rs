//! The benches' price series: a deterministic random walk (an LCG, so the benches need no
//! generator crate).

use domain::dataset::Bars;

/// A deterministic random walk (an LCG, so the bench needs no generator crate).
pub(crate) fn series(n: usize, step_seconds: i64) -> Bars {
    let mut bars = Bars::with_capacity(n);
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut price = 100.0;
    for i in 0..n {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let u = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
        let open = price;
        price *= 1.0 + u * 0.02;
        bars.push(
            i as i64 * step_seconds,
            open,
            open.max(price),
            open.min(price),
            price,
            1.0,
        );
    }
    bars
}
