//! `WireMessage::decode` on any bytes: never panics, and whatever decodes re-encodes to the
//! same message.
#![no_main]

use concerta_sync::wire::WireMessage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    concerta_sync_fuzz::run_catching(|| {
        if let Ok(m) = WireMessage::decode(data) {
            assert_eq!(WireMessage::decode(&m.encode()), Ok(m), "decode(encode(m)) == m");
        }
    });
});
