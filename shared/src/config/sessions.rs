//! Session settings: what each subscription tier may ask of the optimizer (the tier
//! entitlements) and how long a promotion request waits for its re-check.

use serde::Deserialize;

use crate::domain::Tier;

/// Most trials one optimization may run, per tier.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct TrialLimits {
    /// Free tier (0: no optimization).
    pub free: u64,
    /// Basic tier.
    pub basic: u64,
    /// Pro tier.
    pub pro: u64,
    /// Enterprise tier.
    pub enterprise: u64,
}

impl Default for TrialLimits {
    fn default() -> Self {
        Self {
            free: 0,
            basic: 50,
            pro: 500,
            enterprise: 5_000,
        }
    }
}

impl TrialLimits {
    /// The limit of `tier`.
    pub fn of(&self, tier: Tier) -> u64 {
        match tier {
            Tier::Free => self.free,
            Tier::Basic => self.basic,
            Tier::Pro => self.pro,
            Tier::Enterprise => self.enterprise,
        }
    }

    /// Parses `free=0,basic=50,pro=500,enterprise=5000` (any subset, any order) over `self`.
    ///
    /// # Errors
    /// A message naming the bad entry.
    pub fn parse_over(mut self, text: &str) -> Result<Self, String> {
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (tier, n) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?} is not TIER=TRIALS"))?;
            let n: u64 = n
                .trim()
                .parse()
                .map_err(|_| format!("{part:?}: trials must be a whole number"))?;
            match Tier::parse(tier.trim())? {
                Tier::Free => self.free = n,
                Tier::Basic => self.basic = n,
                Tier::Pro => self.pro = n,
                Tier::Enterprise => self.enterprise = n,
            }
        }
        Ok(self)
    }
}

/// Session and optimization settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionSettings {
    /// Most trials per optimization at each tier (`MARKETPLACE_MAX_TRIALS`, e.g.
    /// `free=0,basic=50,pro=500,enterprise=5000`); beyond it a request is refused with 403.
    pub max_trials: TrialLimits,
    /// Most trials per optimization of a creator on their own tool.
    pub creator_max_trials: u64,
    /// Trials when a request names none (capped by the caller's limit).
    pub default_trials: u64,
    /// Enterprise subscribers' optimizations are queued with this priority (others 0).
    pub enterprise_priority: i32,
    /// How long `POST /v1/optimizations/{id}/promote` waits for its re-check before answering
    /// 202 with the job instead (kept a few seconds under the API's request timeout).
    pub promote_wait_secs: u64,
    /// Most active (not ended) sessions of one account; beyond it creating one answers 429
    /// naming the limit.
    pub max_active_per_account: i64,
    /// Most promotion re-checks a tool's creator may run on one optimization record (each runs
    /// the creator's current parameters on the renter's data); beyond it promoting answers 429
    /// naming the limit. Automatic promotions at a session's end do not count.
    pub max_rechecks_per_record: u32,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            max_trials: TrialLimits::default(),
            creator_max_trials: 5_000,
            default_trials: 50,
            enterprise_priority: 10,
            promote_wait_secs: 20,
            max_active_per_account: 50,
            max_rechecks_per_record: 3,
        }
    }
}
