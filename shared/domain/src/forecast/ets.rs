//! Exponential smoothing with additive errors and no seasonality, in the state-space form of
//! Hyndman et al. (*Forecasting with Exponential Smoothing*, 2008): ETS(A,N,N) (simple),
//! ETS(A,A,N) (Holt's linear trend) and ETS(A,Ad,N) (damped trend).
//!
//! Why not a crate: `augurs-ets` (the maintained Rust port of R's `ets`) builds offline but brings
//! nalgebra, simba, lstsq and a second `rand` into this crate, which every role depends on; and
//! on weekly counts of new subscriptions, which are often zero, only its additive-error,
//! non-seasonal models apply, which are these three. Parameters are chosen by a fixed grid
//! search on the one-step squared error (deterministic, bit for bit), the model by AICc.
//!
//! ```text
//! forecast  y^(t) = l(t-1) + phi b(t-1)        e(t) = y(t) - y^(t)
//! level     l(t)  = l(t-1) + phi b(t-1) + alpha e(t)
//! trend     b(t)  = phi b(t-1) + beta e(t)
//! h ahead   l + (phi + ... + phi^h) b,  variance sigma^2 (1 + sum_{j<h} (alpha + beta phi_j)^2)
//! ```

/// Which model.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum EtsKind {
    /// ETS(A,N,N): level only.
    Simple,
    /// ETS(A,A,N): level and trend.
    Holt,
    /// ETS(A,Ad,N): level and a damped trend.
    Damped,
}

impl EtsKind {
    /// The model's name in ETS notation.
    pub const fn as_str(self) -> &'static str {
        match self {
            EtsKind::Simple => "ETS(A,N,N)",
            EtsKind::Holt => "ETS(A,A,N)",
            EtsKind::Damped => "ETS(A,Ad,N)",
        }
    }

    /// Free parameters counted by AICc: smoothing parameters and initial states.
    const fn parameters(self) -> usize {
        match self {
            EtsKind::Simple => 2,
            EtsKind::Holt => 4,
            EtsKind::Damped => 5,
        }
    }
}

/// Smoothing parameters.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct EtsParams {
    /// Level smoothing, 0..1.
    pub alpha: f64,
    /// Trend smoothing, 0..alpha (0 for the simple model).
    pub beta: f64,
    /// Trend damping, 0..1 (1 undamped).
    pub phi: f64,
}

/// A fitted model: its parameters, final states and residual variance.
#[derive(Clone, Debug, PartialEq)]
pub struct EtsFit {
    /// Which model.
    pub kind: EtsKind,
    /// Its parameters.
    pub params: EtsParams,
    /// Level after the last observation.
    pub level: f64,
    /// Trend after the last observation.
    pub trend: f64,
    /// Sum of squared one-step errors.
    pub sse: f64,
    /// Residual variance, `sse / (n - parameters)`.
    pub sigma2: f64,
    /// Observations fitted.
    pub n: usize,
    /// Corrected Akaike criterion (lower is better).
    pub aicc: f64,
}

/// Fewest observations a model is fitted on.
pub const MIN_OBSERVATIONS: usize = 6;

/// Runs the model over `y` with fixed parameters: `(sse, final level, final trend)`. The level
/// starts at the mean of the first (up to) four observations, the trend at zero.
pub fn run(y: &[f64], p: EtsParams) -> (f64, f64, f64) {
    let head = &y[..y.len().min(4)];
    let mut level = if head.is_empty() {
        0.0
    } else {
        head.iter().sum::<f64>() / head.len() as f64
    };
    let mut trend = 0.0;
    let mut sse = 0.0;
    for &obs in y {
        let predicted = level + p.phi * trend;
        let e = obs - predicted;
        sse += e * e;
        level = predicted + p.alpha * e;
        trend = p.phi * trend + p.beta * e;
    }
    (sse, level, trend)
}

fn grid(kind: EtsKind) -> Vec<EtsParams> {
    let alphas = (1..=19).map(|i| f64::from(i) * 0.05);
    let betas: &[f64] = match kind {
        EtsKind::Simple => &[0.0],
        _ => &[0.01, 0.05, 0.1, 0.2, 0.3],
    };
    let phis: &[f64] = match kind {
        EtsKind::Damped => &[0.8, 0.9, 0.95, 0.98],
        _ => &[1.0],
    };
    let mut out = Vec::new();
    for alpha in alphas {
        for &beta in betas.iter().filter(|b| **b <= alpha) {
            for &phi in phis {
                out.push(EtsParams { alpha, beta, phi });
            }
        }
    }
    out
}

/// Fits one model kind by grid search; `None` with fewer than [`MIN_OBSERVATIONS`] points.
pub fn fit_kind(y: &[f64], kind: EtsKind) -> Option<EtsFit> {
    if y.len() < MIN_OBSERVATIONS {
        return None;
    }
    let mut best: Option<(EtsParams, (f64, f64, f64))> = None;
    for p in grid(kind) {
        let r = run(y, p);
        if best.as_ref().is_none_or(|(_, b)| r.0 < b.0) {
            best = Some((p, r));
        }
    }
    let (params, (sse, level, trend)) = best?;
    let n = y.len();
    let k = kind.parameters();
    let sigma2 = sse / (n.saturating_sub(k).max(1)) as f64;
    let mse = (sse / n as f64).max(1e-12);
    let aicc = if n > k + 1 {
        n as f64 * mse.ln() + 2.0 * k as f64 + (2 * k * (k + 1)) as f64 / (n - k - 1) as f64
    } else {
        f64::INFINITY
    };
    Some(EtsFit {
        kind,
        params,
        level,
        trend,
        sse,
        sigma2,
        n,
        aicc,
    })
}

/// Fits the three models and keeps the one with the lowest AICc (the simplest on ties).
pub fn fit(y: &[f64]) -> Option<EtsFit> {
    [EtsKind::Simple, EtsKind::Holt, EtsKind::Damped]
        .into_iter()
        .filter_map(|k| fit_kind(y, k))
        .fold(None, |best: Option<EtsFit>, f| match best {
            Some(b) if b.aicc <= f.aicc => Some(b),
            _ => Some(f),
        })
}

impl EtsFit {
    /// Mean and standard deviation of the forecasts 1..=h steps ahead.
    pub fn forecast(&self, h: usize) -> Vec<(f64, f64)> {
        let EtsParams { alpha, beta, phi } = self.params;
        let mut out = Vec::with_capacity(h);
        let mut damp_sum = 0.0; // phi + ... + phi^step
        let mut power = 1.0;
        let mut var_terms = 1.0; // 1 + sum_{j<step} c_j^2
        for _ in 0..h {
            power *= phi;
            damp_sum += power;
            out.push((
                self.level + damp_sum * self.trend,
                (self.sigma2 * var_terms).sqrt(),
            ));
            let c = alpha + beta * damp_sum;
            var_terms += c * c;
        }
        out
    }
}

/// One-step-ahead forecasts of `y[t]` for `t >= min_train`, each from a model refitted on
/// `y[..t]` only: `(forecast mean, forecast sd, actual)`.
pub fn backtest(y: &[f64], min_train: usize) -> Vec<(f64, f64, f64)> {
    (min_train.max(MIN_OBSERVATIONS)..y.len())
        .filter_map(|t| {
            let f = fit(&y[..t])?;
            let (mean, sd) = f.forecast(1)[0];
            Some((mean, sd, y[t]))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_smoothing_matches_a_hand_computation() {
        // Level starts at mean(2, 4, 6, 8) = 5; alpha = 0.5.
        // y=2: e=-3, l=3.5; y=4: e=0.5, l=3.75; y=6: e=2.25, l=4.875; y=8: e=3.125, l=6.4375.
        let p = EtsParams {
            alpha: 0.5,
            beta: 0.0,
            phi: 1.0,
        };
        let (sse, level, trend) = run(&[2.0, 4.0, 6.0, 8.0], p);
        let expected = 9.0 + 0.25 + 5.0625 + 9.765625;
        assert!((sse - expected).abs() < 1e-12, "{sse}");
        assert!((level - 6.4375).abs() < 1e-12);
        assert_eq!(trend, 0.0);
    }

    #[test]
    fn interval_widths_follow_the_closed_form() {
        // sigma^2 = 4; alpha 0.5, beta 0.1, phi 0.9:
        // h=1: var 4; h=2: c1 = 0.5 + 0.1*0.9 = 0.59 -> 4 (1 + 0.3481);
        // h=3: c2 = 0.5 + 0.1*(0.9 + 0.81) = 0.671 -> 4 (1 + 0.3481 + 0.450241).
        let f = EtsFit {
            kind: EtsKind::Damped,
            params: EtsParams {
                alpha: 0.5,
                beta: 0.1,
                phi: 0.9,
            },
            level: 10.0,
            trend: 1.0,
            sse: 0.0,
            sigma2: 4.0,
            n: 10,
            aicc: 0.0,
        };
        let out = f.forecast(3);
        assert!((out[0].0 - 10.9).abs() < 1e-12);
        assert!((out[2].0 - (10.0 + 0.9 + 0.81 + 0.729)).abs() < 1e-12);
        assert!((out[0].1 - 2.0).abs() < 1e-12);
        assert!((out[1].1 - (4.0f64 * 1.3481).sqrt()).abs() < 1e-12);
        assert!((out[2].1 - (4.0f64 * (1.3481 + 0.450_241)).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn a_linear_trend_is_found_and_extrapolated() {
        let y: Vec<f64> = (0..20).map(|i| 3.0 + 2.0 * f64::from(i)).collect();
        let f = fit(&y).expect("enough data");
        assert_ne!(f.kind, EtsKind::Simple, "a trend is needed");
        let next = f.forecast(1)[0].0;
        assert!(
            (next - 43.0).abs() < 1.5,
            "next of 3 + 2t at t=20 is 43, got {next}"
        );
    }

    #[test]
    fn a_flat_series_forecasts_its_level_with_no_spread() {
        let f = fit(&[5.0; 10]).expect("enough data");
        let (mean, sd) = f.forecast(4)[3];
        assert!((mean - 5.0).abs() < 1e-9);
        assert!(sd < 1e-9);
        assert_eq!(fit(&[1.0; 5]), None, "too short to fit");
    }

    #[test]
    fn backtest_uses_only_the_past() {
        let y = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 9.0];
        let b = backtest(&y, 6);
        assert_eq!(b.len(), 2);
        assert!((b[0].0 - 1.0).abs() < 1e-9, "fit on ones forecasts one");
        assert_eq!(b[1].2, 9.0, "the last actual is the jump");
        assert!(
            (b[1].0 - 1.0).abs() < 1e-9,
            "the jump is not seen before it happens"
        );
    }
}
