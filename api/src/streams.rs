//! Live event streams (`GET /v1/jobs/{id}/events`): how many each caller holds open. A slot is
//! taken when a stream opens and given back when it is dropped (the client went away, the job
//! ended or the stream reached its lifetime), so one account cannot hold the server's
//! connections and wake-ups for everyone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use uuid::Uuid;

/// Open streams per holder (an account's id; the admin key counts as the nil id).
#[derive(Debug, Default)]
pub struct StreamSlots {
    open: Mutex<HashMap<Uuid, usize>>,
}

/// One open stream's slot; dropping it gives the slot back.
#[derive(Debug)]
pub struct StreamSlot {
    slots: Arc<StreamSlots>,
    holder: Uuid,
}

impl StreamSlots {
    /// A slot for `holder` unless it holds `max` already.
    pub fn take(self: &Arc<Self>, holder: Uuid, max: usize) -> Option<StreamSlot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let held = open.entry(holder).or_default();
        if *held >= max {
            return None;
        }
        *held += 1;
        metrics::gauge!("event_streams_open").increment(1.0);
        Some(StreamSlot {
            slots: self.clone(),
            holder,
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(held) = open.get_mut(&self.holder) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                open.remove(&self.holder);
            }
        }
        metrics::gauge!("event_streams_open").decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holder_gets_at_most_max_slots_and_a_dropped_one_comes_back() {
        let slots = Arc::new(StreamSlots::default());
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let first = slots.take(a, 2).expect("first");
        let _second = slots.take(a, 2).expect("second");
        assert!(slots.take(a, 2).is_none(), "third refused");
        assert!(slots.take(b, 2).is_some(), "another holder is not affected");
        drop(first);
        let _third = slots.take(a, 2).expect("the slot came back");
        assert!(slots.take(a, 2).is_none(), "and only that one");
    }
}
