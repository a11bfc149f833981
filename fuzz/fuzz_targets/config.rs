//! The configuration lexer, preprocessor, parser and builder on arbitrary text.
//!
//! Input: NUL-separated UTF-8 chunks. The first is the main file, the others are
//! `conf.d/1.conf`, `conf.d/2.conf`, ... beside it (what `include conf.d/*.conf` finds). The
//! files live in memory: nothing touches the real file system. The config id is `fuzz`.
//!
//! Beyond "no panic": every diagnostic renders with a message; a configuration that loads
//! dumps (`-t --dump`) to text that loads again as one file.
#![no_main]

use keepvip::config::fuzzing::{dump_in_memory, parse_in_memory};
use libfuzzer_sys::fuzz_target;

const CONFIG_ID: Option<&str> = Some("fuzz");

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut chunks = text.split('\0');
    let main = chunks.next().unwrap_or("");
    let names: Vec<String> = (1..=chunks.clone().count())
        .map(|i| format!("conf.d/{i}.conf"))
        .collect();
    let files: Vec<(&str, &str)> = names.iter().map(String::as_str).zip(chunks).collect();
    match parse_in_memory(main, &files, CONFIG_ID) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                assert!(!warning.to_string().is_empty());
            }
            let dumped = dump_in_memory(main, &files, CONFIG_ID);
            if let Err(report) = parse_in_memory(&dumped, &[], CONFIG_ID) {
                panic!("loads, but its dump does not:\n--- dump\n{dumped}\n--- report\n{report}");
            }
        }
        Err(report) => {
            assert!(!report.diagnostics.is_empty(), "a failed load explains why");
            for diagnostic in &report.diagnostics {
                assert!(!diagnostic.to_string().is_empty());
            }
            let _ = dump_in_memory(main, &files, CONFIG_ID);
        }
    }
});
