//! The armored text parser: never panics, and whatever it accepts writes back to text that
//! parses to the same document.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tenure_core::armor::Armored;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(armored) = Armored::parse(text) {
        let again = Armored::parse(&armored.to_text()).expect("written text parses");
        assert_eq!(again, armored);
    }
});
