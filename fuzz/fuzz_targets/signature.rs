#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| clickbill_fuzzing::signature(data));
