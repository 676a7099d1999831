//! The three webhook formats, the content limits and the future-time clamp: any bytes give a
//! delivery or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nightwatch_core::model::Source;
use nightwatch_core::parse::limits::Limits;
use nightwatch_core::parse::{parse, skew};

fuzz_target!(|data: &[u8]| {
    let received_at = chrono::DateTime::UNIX_EPOCH;
    let limits = Limits::default();
    let _ = limits.check_body(data);
    for source in Source::ALL {
        if let Ok(mut delivery) = parse(source, data, received_at) {
            let _ = limits.check(&delivery);
            skew::clamp_future_starts(&mut delivery, received_at, skew::DEFAULT_MAX_CLOCK_SKEW);
            for alert in &delivery.alerts {
                let _ = nightwatch_core::evidence::Scope::of(&alert.labels, &alert.annotations);
            }
        }
    }
});
