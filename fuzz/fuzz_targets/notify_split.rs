//! The notify / track script command splitter on arbitrary text.
//!
//! Beyond "no panic": a split that succeeds gives at least one argument and none holds a NUL;
//! quoting the arguments again (each in double quotes, `\` and `"` escaped) and splitting that
//! gives the same arguments; an unterminated-quote error points at that quote.
#![no_main]

use keepvip::script::{split_command, SplitError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(cmd) = std::str::from_utf8(data) else {
        return;
    };
    match split_command(cmd) {
        Ok(argv) => {
            assert!(!argv.is_empty());
            assert!(argv.iter().all(|arg| !arg.contains('\0')));
            let quoted: Vec<String> = argv
                .iter()
                .map(|arg| format!("\"{}\"", arg.replace('\\', "\\\\").replace('"', "\\\"")))
                .collect();
            let again = split_command(&quoted.join(" "))
                .unwrap_or_else(|e| panic!("re-quoted {argv:?} does not split: {e}"));
            assert_eq!(again, argv);
        }
        Err(SplitError::UnterminatedQuote { quote, offset }) => {
            assert_eq!(
                cmd.as_bytes().get(offset).copied(),
                u8::try_from(quote).ok()
            );
        }
        Err(SplitError::Empty) => assert!(cmd.bytes().all(|b| b" \t\x0c\n\r\x0b".contains(&b))),
        Err(e) => {
            // Every error explains itself.
            assert!(!e.to_string().is_empty());
        }
    }
});
