//! `config`: keepalived.conf syntax for the VRRP parts, parsed into a validated model.
//!
//! Pure apart from reading the configuration files and listing the directories that `include`
//! globs walk: no clock, no network, no user database, no panics on any input.
//!
//! Layers, each with its own tests:
//! - `lexer`: lines, comments, quotes, braces, `include` splicing (spans carry the file id).
//! - `tree`: the generic `keyword args... [{ block }]` grammar.
//! - `keywords`: which keepalived keywords keepvip implements, ignores (warning) or does not
//!   support yet (error), per block.
//! - `build`: keyword handlers, keepalived's defaults and fix-ups, validation.
//!
//! Where keepvip is stricter than keepalived 2.2.7 (which logs and carries on with a changed
//! configuration), it reports an error: out-of-range numbers, unknown keywords and values, a
//! missing literal `include` file, an include cycle, `version 2` with IPv6 addresses, mixed
//! families, duplicate names and VRIDs. Where keepalived silently changes what the file says,
//! keepvip does the same and warns (`state MASTER` without `priority` becomes priority 255,
//! `nopreempt` with `state MASTER` is cleared, ...).

mod build;
mod diag;
mod glob;
pub mod keywords;
mod lexer;
mod model;
mod source;
mod tree;
mod values;
mod vmac;

use std::path::Path;

pub use diag::{Diagnostic, FileId, Location, Report, Severity, Span};
pub use model::Vmac;
pub use model::{
    Broadcast, Config, Garp, GlobalDefs, InitialState, Instance, Notify, NotifyScript, Scope,
    ScriptUser, Vip, VipLease,
};
pub use model::{
    SyncGroup, TrackFile, TrackFileInit, TrackWeight, TrackedInterface, TrackedRef, Tracking,
    VrrpScript,
};

use diag::Diags;
use source::{FileSystem, RealFs};

/// A configuration that loaded without errors, and the warnings found on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<Diagnostic>,
}

/// Reads and validates the configuration at `path`, following its includes. On failure the
/// report holds every error found (and the warnings), not just the first.
pub fn load(path: &Path) -> Result<Loaded, Report> {
    load_with(&RealFs, path)
}

/// Parses `text` as if it were the file at `path` (includes are resolved relative to `path`'s
/// directory, on the real file system). For tests and tools.
pub fn parse_str(text: &str, path: &Path) -> Result<Loaded, Report> {
    parse_with(&RealFs, text, path)
}

fn load_with(fs: &dyn FileSystem, path: &Path) -> Result<Loaded, Report> {
    let file_error = |message: String| {
        let mut diags = Diags::default();
        diags.error(None, &[], message);
        Report {
            diagnostics: diags.resolve(&[], path),
        }
    };
    match fs.metadata(path) {
        Err(err) => return Err(file_error(format!("cannot read the configuration: {err}"))),
        Ok(meta) if meta.is_dir => {
            return Err(file_error(
                "is a directory, not a configuration file".to_string(),
            ))
        }
        Ok(meta) if !meta.is_file => return Err(file_error("is not a regular file".to_string())),
        Ok(meta) if meta.executable => {
            return Err(file_error(
                "is executable; keepalived refuses executable configuration files: chmod a-x it"
                    .to_string(),
            ))
        }
        Ok(_) => {}
    }
    let text = lexer::read_text(fs, path).map_err(file_error)?;
    parse_with(fs, &text, path)
}

fn parse_with(fs: &dyn FileSystem, text: &str, path: &Path) -> Result<Loaded, Report> {
    let mut lexer = lexer::Lexer::new(fs);
    lexer.lex_main(path, text);
    let tokens = std::mem::take(&mut lexer.tokens);
    let statements = tree::parse(tokens, &lexer.sources, &mut lexer.diags);
    let config = build::build(&statements, &lexer.sources, &mut lexer.diags);
    let mut diags = lexer.diags;
    // Group by file, then by position; `None` (whole-file) first. Stable, so that diagnostics
    // at one position keep their order.
    diags
        .items
        .sort_by_key(|d| d.span.map(|s| (s.file, s.line, s.col)));
    let failed = diags.has_errors();
    let diagnostics = diags.resolve(&config.files, path);
    if failed {
        Err(Report { diagnostics })
    } else {
        Ok(Loaded {
            config,
            warnings: diagnostics,
        })
    }
}

#[cfg(test)]
mod tests;
