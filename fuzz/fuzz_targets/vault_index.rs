#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    bunker_vault::fuzzing::index(data);
});
