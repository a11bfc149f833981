//! Tracking and sync groups: the `vrrp_script`, `track_file` and `vrrp_sync_group` blocks, an
//! instance's `track_interface` / `track_script` / `track_file` / `dont_track_primary`, and
//! the checks that need everything read (names resolved, weights defaulted, sync-group weights
//! zeroed).
//!
//! keepalived logs and ignores a reference to an undefined script or file, a duplicate entry
//! and an out-of-range weight; keepvip refuses them, naming the position.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use super::{first_arg, first_arg_span, with, Builder};
use crate::config::diag::Span;
use crate::config::keywords;
use crate::config::model::{
    Instance, Notify, SyncGroup, TrackFile, TrackFileInit, TrackWeight, TrackedInterface,
    TrackedRef, Tracking, VrrpScript,
};
use crate::config::tree::Statement;

/// keepalived's script intervals and timeouts: whole seconds up to UINT_MAX microseconds.
const MAX_SCRIPT_SECS: u64 = 4294;
/// `track_interface` / `track_script` / `vrrp_script` weights.
const MAX_WEIGHT: i64 = 253;
/// `track_file` weights (a file's value may be negative, hence one more).
const MAX_FILE_WEIGHT: i64 = 254;

/// What an instance or group block says it tracks, before the names are resolved.
#[derive(Debug, Default)]
pub(crate) struct TrackDraft {
    interfaces: Vec<TrackedInterface>,
    scripts: Vec<RefDraft>,
    files: Vec<RefDraft>,
    pub(crate) dont_track_primary: bool,
}

#[derive(Debug)]
struct RefDraft {
    name: String,
    span: Span,
    /// The entry's own weight; `None` = the definition's.
    weight: Option<TrackWeight>,
}

#[derive(Debug)]
struct GroupDraft {
    name: String,
    span: Span,
    members: Vec<(String, Span)>,
    notify: Notify,
    track: TrackDraft,
    tracking_weight: bool,
}

/// The top-level tracking blocks collected while reading.
#[derive(Debug, Default)]
pub(crate) struct TrackBuilder {
    scripts: Vec<VrrpScript>,
    files: Vec<TrackFile>,
    groups: Vec<GroupDraft>,
}

/// What the tracking blocks amount to, for the [`crate::config::Config`].
pub(crate) struct Finished {
    pub scripts: Vec<VrrpScript>,
    pub files: Vec<TrackFile>,
    pub groups: Vec<SyncGroup>,
}

fn parse_int(text: &str) -> Option<i64> {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl Builder<'_> {
    /// `KEYWORD NAME { ... }`: the name and the block's statements, or None (reported).
    fn named_block<'s>(
        &mut self,
        st: &'s Statement,
        what: &str,
    ) -> Option<(String, Vec<String>, &'s [Statement])> {
        let kw = st.keyword.text.as_str();
        let Some(name) = st.args.first() else {
            self.err(
                st.keyword.span,
                &[kw.to_string()],
                format!("needs a name: '{kw} NAME {{ ... }}' ({what})"),
            );
            return None;
        };
        let ctx = vec![format!("{kw} {}", name.text)];
        if let Some(extra) = st.args.get(1) {
            self.err(
                extra.span,
                &ctx,
                "takes exactly one name; quote a name with spaces",
            );
        }
        let Some(block) = &st.block else {
            self.err(st.keyword.span, &ctx, "needs a '{ ... }' block");
            return None;
        };
        Some((name.text.clone(), ctx, &block.items))
    }

    /// The statements of a block that are implemented in `table`; a keyword given twice is
    /// reported (`repeatable` ones may be).
    fn block_items<'s>(
        &mut self,
        items: &'s [Statement],
        ctx: &[String],
        table: &'static [keywords::Keyword],
        repeatable: &[&str],
    ) -> Vec<(&'s Statement, Vec<String>)> {
        let mut seen: HashMap<String, Span> = HashMap::new();
        let mut out = Vec::new();
        for item in items {
            if !self.classify(item, ctx, table) {
                continue;
            }
            let kw = item.keyword.text.clone();
            let here = with(ctx, &kw);
            if let Some(previous) = seen.insert(kw.clone(), item.keyword.span) {
                if !repeatable.contains(&kw.as_str()) {
                    let at = self.loc(previous);
                    self.err(
                        item.keyword.span,
                        &here,
                        format!("already set at {at}: keep one"),
                    );
                    continue;
                }
            }
            out.push((item, here));
        }
        out
    }

    /// A whole number of seconds for an interval or a timeout.
    fn script_seconds(&mut self, st: &Statement, ctx: &[String], kw: &str) -> Option<Duration> {
        if !self.simple(st, ctx, 1..=1, &format!("{kw} SECONDS")) {
            return None;
        }
        let secs = self.uint(
            st,
            ctx,
            1..=MAX_SCRIPT_SECS,
            &format!("whole seconds 1-{MAX_SCRIPT_SECS}"),
        )?;
        Some(Duration::from_secs(secs))
    }

    /// `N [reverse|noreverse]` in `args` (the words after `weight`), N in -max..=max.
    fn weight_value(
        &mut self,
        st: &Statement,
        args: &[crate::config::lexer::Word],
        ctx: &[String],
        max: i64,
        noreverse: bool,
    ) -> Option<TrackWeight> {
        let usage = if noreverse {
            format!("weight -{max}..{max} [reverse|noreverse]")
        } else {
            format!("weight -{max}..{max} [reverse]")
        };
        let Some(value) = args.first() else {
            self.err(
                st.keyword.span,
                ctx,
                format!("missing value: expected '{usage}'"),
            );
            return None;
        };
        let weight = match parse_int(&value.text) {
            Some(n) if (-max..=max).contains(&n) => i32::try_from(n).ok()?,
            Some(_) => {
                self.err(
                    value.span,
                    ctx,
                    format!("{} is out of range: expected -{max}..{max}", value.text),
                );
                return None;
            }
            None => {
                self.err(
                    value.span,
                    ctx,
                    format!("'{}' is not a whole number: expected '{usage}'", value.text),
                );
                return None;
            }
        };
        let reverse = match args.get(1).map(|w| (w.text.as_str(), w.span)) {
            None => false,
            Some(("reverse", _)) => true,
            Some(("noreverse", _)) if noreverse => false,
            Some((other, span)) => {
                self.err(
                    span,
                    ctx,
                    format!("'{other}' is not a weight option: expected '{usage}'"),
                );
                return None;
            }
        };
        if let Some(extra) = args.get(2) {
            self.err(
                extra.span,
                ctx,
                format!("too many arguments: expected '{usage}'"),
            );
            return None;
        }
        Some(TrackWeight { weight, reverse })
    }

    // ---- vrrp_script -----------------------------------------------------------------------

    pub(crate) fn vrrp_script(&mut self, st: &Statement) {
        let Some((name, ctx, items)) = self.named_block(st, "a check script") else {
            return;
        };
        let mut command = None;
        let mut script_seen = false;
        let mut user: Option<(String, Option<String>)> = None;
        let mut interval = Duration::from_secs(1);
        let mut timeout = None;
        let mut weight = TrackWeight::default();
        let (mut rise, mut fall) = (1u32, 1u32);
        let mut init_fail = false;
        for (item, here) in self.block_items(items, &ctx, keywords::VRRP_SCRIPT, &[]) {
            match item.keyword.text.as_str() {
                "script" => {
                    script_seen = true;
                    let Some(script) = self.notify(item, &here) else {
                        continue;
                    };
                    if script.user.is_some() {
                        self.err(
                            first_arg_span(item),
                            &here,
                            "takes only the command: quote a command that has arguments (script \"/path/to/check arg\") and name the user with 'user USER [GROUP]'",
                        );
                        continue;
                    }
                    command = Some(script);
                }
                "interval" => {
                    if let Some(d) = self.script_seconds(item, &here, "interval") {
                        interval = d;
                    }
                }
                "timeout" => {
                    if let Some(d) = self.script_seconds(item, &here, "timeout") {
                        timeout = Some(d);
                    }
                }
                "weight" => {
                    if self.no_block(item, &here) {
                        let args = item.args.clone();
                        if let Some(w) = self.weight_value(item, &args, &here, MAX_WEIGHT, false) {
                            weight = w;
                        }
                    }
                }
                "rise" | "fall" => {
                    let kw = item.keyword.text.clone();
                    if self.simple(item, &here, 1..=1, &format!("{kw} COUNT")) {
                        let max = u64::try_from(i32::MAX).unwrap_or(u64::MAX);
                        if let Some(n) = self.uint(item, &here, 1..=max, "a count of at least 1") {
                            let n = u32::try_from(n).unwrap_or(1);
                            if kw == "rise" {
                                rise = n;
                            } else {
                                fall = n;
                            }
                        }
                    }
                }
                "user" => {
                    if self.simple(item, &here, 1..=2, "user USER [GROUP]") {
                        user = Some((
                            first_arg(item).to_string(),
                            item.args.get(1).map(|a| a.text.clone()),
                        ));
                    }
                }
                "init_fail" => {
                    if self.simple(item, &here, 0..=0, "init_fail") {
                        init_fail = true;
                    }
                }
                _ => self.unhandled(item, &ctx),
            }
        }
        let Some(mut command) = command else {
            if script_seen {
                return;
            }
            self.err(
                st.keyword.span,
                &ctx,
                "has no 'script': the command to run, e.g. script \"/usr/bin/pgrep -x haproxy\"",
            );
            return;
        };
        if let Some((user, group)) = user {
            command.user = Some(user);
            command.group = group;
        }
        if let Some(previous) = self.track.scripts.iter().find(|s| s.name == name) {
            let at = self.loc(previous.span);
            self.err(
                st.keyword.span,
                &ctx,
                format!("a vrrp_script with this name is already defined at {at}: rename one"),
            );
            return;
        }
        self.track.scripts.push(VrrpScript {
            name,
            span: st.keyword.span,
            command,
            interval,
            timeout: timeout.unwrap_or(interval),
            weight,
            rise,
            fall,
            init_fail,
        });
    }

    // ---- track_file ------------------------------------------------------------------------

    pub(crate) fn track_file_block(&mut self, st: &Statement) {
        if st.keyword.text == "vrrp_track_file" {
            self.warn(
                st.keyword.span,
                &[st.label()],
                "deprecated in keepalived: write 'track_file'",
            );
        }
        let Some((name, ctx, items)) = self.named_block(st, "a file holding a number") else {
            return;
        };
        let mut path = None;
        let mut file_seen = false;
        let mut weight = TrackWeight {
            weight: 1,
            reverse: false,
        };
        let mut init = None;
        for (item, here) in self.block_items(items, &ctx, keywords::TRACK_FILE, &[]) {
            match item.keyword.text.as_str() {
                "file" => {
                    file_seen = true;
                    if self.simple(item, &here, 1..=1, "file PATH") {
                        let p = PathBuf::from(first_arg(item));
                        if p.is_absolute() {
                            path = Some(p);
                        } else {
                            self.err(
                                first_arg_span(item),
                                &here,
                                format!("'{}' is not an absolute path: write the full path (keepvip runs from /)", p.display()),
                            );
                        }
                    }
                }
                "weight" => {
                    if self.no_block(item, &here) {
                        let args = item.args.clone();
                        if let Some(w) =
                            self.weight_value(item, &args, &here, MAX_FILE_WEIGHT, false)
                        {
                            weight = w;
                        }
                    }
                }
                "init_file" => {
                    if !self.no_block(item, &here) {
                        continue;
                    }
                    let mut value = 0i32;
                    let mut overwrite = false;
                    let mut ok = true;
                    for arg in &item.args {
                        if arg.text == "overwrite" {
                            overwrite = true;
                            continue;
                        }
                        match parse_int(&arg.text).and_then(|n| i32::try_from(n).ok()) {
                            Some(n) => {
                                if !(-MAX_FILE_WEIGHT..=MAX_FILE_WEIGHT).contains(&i64::from(n)) {
                                    self.warn(
                                        arg.span,
                                        &here,
                                        format!("{n} is outside the sensible range -254..254 (keepalived warns too)"),
                                    );
                                }
                                value = n;
                            }
                            None => {
                                self.err(
                                    arg.span,
                                    &here,
                                    format!("'{}' is neither a 32-bit number nor 'overwrite': expected 'init_file [VALUE] [overwrite]'", arg.text),
                                );
                                ok = false;
                            }
                        }
                    }
                    if ok {
                        init = Some(TrackFileInit { value, overwrite });
                    }
                }
                _ => self.unhandled(item, &ctx),
            }
        }
        let Some(path) = path else {
            if file_seen {
                return;
            }
            self.err(
                st.keyword.span,
                &ctx,
                "has no 'file': the path of the file to watch",
            );
            return;
        };
        if let Some(previous) = self.track.files.iter().find(|f| f.name == name) {
            let at = self.loc(previous.span);
            self.err(
                st.keyword.span,
                &ctx,
                format!("a track_file with this name is already defined at {at}: rename one"),
            );
            return;
        }
        self.track.files.push(TrackFile {
            name,
            span: st.keyword.span,
            path,
            weight,
            init,
        });
    }

    // ---- vrrp_sync_group -------------------------------------------------------------------

    pub(crate) fn sync_group(&mut self, st: &Statement) {
        let Some((name, ctx, items)) = self.named_block(st, "instances that move together") else {
            return;
        };
        let mut group = GroupDraft {
            name,
            span: st.keyword.span,
            members: Vec::new(),
            notify: Notify::default(),
            track: TrackDraft::default(),
            tracking_weight: false,
        };
        let repeatable = ["group", "track_interface", "track_script", "track_file"];
        for (item, here) in self.block_items(items, &ctx, keywords::SYNC_GROUP, &repeatable) {
            match item.keyword.text.as_str() {
                "group" => {
                    if let Some(arg) = item.args.first() {
                        self.err(arg.span, &here, "instance names go inside the block");
                    }
                    let Some(block) = &item.block else {
                        self.err(
                            item.keyword.span,
                            &here,
                            "needs a '{ ... }' block of vrrp_instance names",
                        );
                        continue;
                    };
                    for line in &block.items {
                        if let Some(open) = line.block.as_ref().map(|b| b.open) {
                            self.err(open, &here, "an instance name takes no '{ ... }' block");
                        }
                        for word in std::iter::once(&line.keyword).chain(&line.args) {
                            group.members.push((word.text.clone(), word.span));
                        }
                    }
                }
                "notify_master" => group.notify.master = self.notify(item, &here),
                "notify_backup" => group.notify.backup = self.notify(item, &here),
                "notify_fault" => group.notify.fault = self.notify(item, &here),
                "notify_stop" => group.notify.stop = self.notify(item, &here),
                "notify" => group.notify.any = self.notify(item, &here),
                "track_interface" | "track_script" | "track_file" => {
                    self.track_keyword(&mut group.track, item, &here)
                }
                "sync_group_tracking_weight" | "global_tracking" => {
                    if item.keyword.text == "global_tracking" {
                        self.warn(
                            item.keyword.span,
                            &here,
                            "deprecated in keepalived: means 'sync_group_tracking_weight'; track objects on the group instead",
                        );
                    }
                    if self.simple(item, &here, 0..=0, item.keyword.text.as_str()) {
                        group.tracking_weight = true;
                    }
                }
                _ => self.unhandled(item, &ctx),
            }
        }
        self.track.groups.push(group);
    }

    // ---- tracking entries ------------------------------------------------------------------

    /// `track_interface`, `track_script`, `track_file` blocks and `dont_track_primary`, in an
    /// instance or a sync group.
    pub(crate) fn track_keyword(&mut self, track: &mut TrackDraft, st: &Statement, ctx: &[String]) {
        let kw = st.keyword.text.as_str();
        if kw == "dont_track_primary" {
            if self.simple(st, ctx, 0..=0, kw) {
                track.dont_track_primary = true;
            }
            return;
        }
        if let Some(arg) = st.args.first() {
            self.err(arg.span, ctx, "entries go inside the block, one per line");
        }
        let Some(block) = &st.block else {
            if !st.args.is_empty() {
                return;
            }
            self.err(
                st.keyword.span,
                ctx,
                "needs a '{ ... }' block, one entry per line: NAME [weight N]",
            );
            return;
        };
        for line in &block.items {
            let name = line.keyword.text.clone();
            let here = with(ctx, &name);
            if let Some(open) = line.block.as_ref().map(|b| b.open) {
                self.err(open, &here, "an entry takes no '{ ... }' block");
                continue;
            }
            let weight = match line.args.first().map(|w| w.text.as_str()) {
                None => None,
                Some("weight") => {
                    let (max, noreverse) = match kw {
                        "track_interface" => (MAX_WEIGHT, false),
                        "track_script" => (MAX_WEIGHT, true),
                        _ => (MAX_FILE_WEIGHT, true),
                    };
                    let rest = line.args.get(1..).unwrap_or_default().to_vec();
                    match self.weight_value(line, &rest, &here, max, noreverse) {
                        Some(w) => Some(w),
                        None => continue,
                    }
                }
                Some(other) => {
                    self.err(
                        first_arg_span(line),
                        &here,
                        format!("'{other}' is not an option here: expected '{name} [weight N]'"),
                    );
                    continue;
                }
            };
            let span = line.keyword.span;
            let duplicate = match kw {
                "track_interface" => track
                    .interfaces
                    .iter()
                    .find(|e| e.name == name)
                    .map(|e| e.span),
                "track_script" => track
                    .scripts
                    .iter()
                    .find(|e| e.name == name)
                    .map(|e| e.span),
                _ => track.files.iter().find(|e| e.name == name).map(|e| e.span),
            };
            if let Some(previous) = duplicate {
                let at = self.loc(previous);
                self.err(span, &here, format!("already tracked at {at}: keep one"));
                continue;
            }
            match kw {
                "track_interface" => {
                    if self.interface_name(&name, span, &here) {
                        track.interfaces.push(TrackedInterface {
                            name,
                            weight: weight.unwrap_or_default(),
                            span,
                        });
                    }
                }
                "track_script" => track.scripts.push(RefDraft { name, span, weight }),
                _ => track.files.push(RefDraft { name, span, weight }),
            }
        }
    }

    /// Resolves the names of `track` against the `vrrp_script` and `track_file` blocks.
    pub(crate) fn resolve_tracking(&mut self, track: &TrackDraft, ctx: &[String]) -> Tracking {
        let mut tracking = Tracking {
            interfaces: track.interfaces.clone(),
            ..Tracking::default()
        };
        for entry in &track.scripts {
            let defined = self
                .track
                .scripts
                .iter()
                .find(|s| s.name == entry.name)
                .map(|s| s.weight);
            let names: Vec<String> = self.track.scripts.iter().map(|s| s.name.clone()).collect();
            match defined {
                Some(default) => tracking.scripts.push(TrackedRef {
                    name: entry.name.clone(),
                    weight: entry.weight.unwrap_or(default),
                    span: entry.span,
                }),
                None => self.undefined(entry, ctx, "track_script", "vrrp_script", &names),
            }
        }
        for entry in &track.files {
            let defined = self
                .track
                .files
                .iter()
                .find(|f| f.name == entry.name)
                .map(|f| f.weight);
            let names: Vec<String> = self.track.files.iter().map(|f| f.name.clone()).collect();
            match defined {
                Some(default) => tracking.files.push(TrackedRef {
                    name: entry.name.clone(),
                    weight: entry.weight.unwrap_or(default),
                    span: entry.span,
                }),
                None => self.undefined(entry, ctx, "track_file", "track_file", &names),
            }
        }
        tracking
    }

    fn undefined(
        &mut self,
        entry: &RefDraft,
        ctx: &[String],
        block: &str,
        definition: &str,
        names: &[String],
    ) {
        let here = with(&with(ctx, block), &entry.name);
        let hint = names
            .iter()
            .map(|n| (keywords::edit_distance(&entry.name, n), n))
            .filter(|(d, _)| *d <= 2)
            .min_by_key(|(d, _)| *d)
            .map(|(_, n)| format!(", did you mean '{n}'?"))
            .unwrap_or_else(|| format!(": define it with '{definition} {} {{ ... }}'", entry.name));
        self.err(
            entry.span,
            &here,
            format!("no {definition} named '{}'{hint}", entry.name),
        );
    }

    /// After every block was read: the sync groups, checked against the instances, and the
    /// tracking weights of their members set to 0 unless `sync_group_tracking_weight` is given.
    /// `instance_names`: every `vrrp_instance` written, valid or not.
    pub(crate) fn finish_tracking(
        &mut self,
        instances: &mut [Instance],
        instance_names: &[String],
    ) -> Finished {
        let drafts = std::mem::take(&mut self.track.groups);
        let mut member_of: HashMap<String, (String, Span)> = HashMap::new();
        let mut groups = Vec::new();
        for draft in drafts {
            let ctx = vec![format!("vrrp_sync_group {}", draft.name)];
            if let Some(previous) = groups.iter().find(|g: &&SyncGroup| g.name == draft.name) {
                let at = self.loc(previous.span);
                self.err(
                    draft.span,
                    &ctx,
                    format!("a sync group with this name is already defined at {at}: rename one"),
                );
                continue;
            }
            let group_ctx = with(&ctx, "group");
            let mut members: Vec<String> = Vec::new();
            for (name, span) in &draft.members {
                let here = with(&group_ctx, name);
                if !instance_names.contains(name) {
                    self.err(*span, &here, format!("no vrrp_instance named '{name}'"));
                } else if members.contains(name) {
                    self.err(*span, &here, "listed twice");
                } else if let Some((other, at)) = member_of.get(name).cloned() {
                    let at = self.loc(at);
                    self.err(
                        *span,
                        &here,
                        format!("already in vrrp_sync_group {other} (at {at}): an instance belongs to one sync group at most"),
                    );
                } else {
                    member_of.insert(name.clone(), (draft.name.clone(), *span));
                    members.push(name.clone());
                }
            }
            match members.len() {
                0 if draft.members.is_empty() => self.err(
                    draft.span,
                    &ctx,
                    "has no members: list them in 'group { VI_1 VI_2 }'",
                ),
                1 if draft.members.len() == 1 => self.warn(
                    draft.span,
                    &ctx,
                    "has a single member: a sync group of one does nothing (keepalived warns too)",
                ),
                _ => {}
            }
            let mut tracking = self.resolve_tracking(&draft.track, &ctx);
            if !draft.tracking_weight {
                self.zero_weights(&mut tracking, &ctx, &draft.name);
                for instance in instances.iter_mut().filter(|i| members.contains(&i.name)) {
                    let ctx = vec![format!("vrrp_instance {}", instance.name)];
                    self.zero_weights(&mut instance.tracking, &ctx, &draft.name);
                }
            }
            groups.push(SyncGroup {
                name: draft.name,
                span: draft.span,
                members,
                notify: draft.notify,
                tracking,
                tracking_weight: draft.tracking_weight,
            });
        }
        Finished {
            scripts: std::mem::take(&mut self.track.scripts),
            files: std::mem::take(&mut self.track.files),
            groups,
        }
    }

    /// keepalived's rule for sync groups: members track with weight 0, so that one failure
    /// moves the whole group instead of splitting it across routers.
    fn zero_weights(&mut self, tracking: &mut Tracking, ctx: &[String], group: &str) {
        let mut zeroed = Vec::new();
        for (block, name, weight, span) in tracking
            .interfaces
            .iter_mut()
            .map(|e| ("track_interface", &e.name, &mut e.weight, e.span))
            .chain(
                tracking
                    .scripts
                    .iter_mut()
                    .map(|e| ("track_script", &e.name, &mut e.weight, e.span)),
            )
            .chain(
                tracking
                    .files
                    .iter_mut()
                    .map(|e| ("track_file", &e.name, &mut e.weight, e.span)),
            )
        {
            if weight.weight != 0 {
                weight.weight = 0;
                zeroed.push((with(&with(ctx, block), name), span));
            }
        }
        for (here, span) in zeroed {
            self.warn(
                span,
                &here,
                format!("weight ignored: members of vrrp_sync_group {group} track with weight 0 (a failure means FAULT), as in keepalived; add 'sync_group_tracking_weight' to the group to keep weights"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use crate::config::keywords::{self, Support};
    use crate::config::{parse_str, Config, TrackFileInit, TrackWeight};

    fn run(text: &str) -> (Option<Config>, Vec<String>) {
        match parse_str(text, Path::new("/k.conf")) {
            Ok(loaded) => (
                Some(loaded.config),
                loaded.warnings.iter().map(ToString::to_string).collect(),
            ),
            Err(report) => (
                None,
                report.diagnostics.iter().map(ToString::to_string).collect(),
            ),
        }
    }

    fn clean(text: &str) -> Config {
        let (config, diags) = run(text);
        assert_eq!(diags, Vec::<String>::new());
        config.unwrap()
    }

    fn errors(text: &str) -> Vec<String> {
        let (config, diags) = run(text);
        assert!(config.is_none(), "expected errors, got a config");
        diags
    }

    /// An instance named `name` on eth0 with `extra` lines (the first on line `first + 3`).
    fn instance(name: &str, vrid: u8, extra: &str) -> String {
        format!(
            "vrrp_instance {name} {{\n  interface eth0\n  virtual_router_id {vrid}\n{extra}\n  virtual_ipaddress {{\n    192.0.2.{vrid}\n  }}\n}}\n"
        )
    }

    fn w(weight: i32, reverse: bool) -> TrackWeight {
        TrackWeight { weight, reverse }
    }

    #[test]
    fn vrrp_script_defaults_and_settings() {
        let text = format!(
            "vrrp_script chk_a {{\n  script \"/bin/check a\"\n}}\nvrrp_script chk_b {{\n  script /bin/b\n  interval 3\n  weight -20 reverse\n  rise 2\n  fall 4\n  user nobody nogroup\n  init_fail\n}}\nvrrp_script chk_c {{\n  script /bin/c\n  interval 5\n  timeout 2\n}}\n{}",
            instance("VI_1", 1, "  track_script {\n    chk_a\n    chk_b\n    chk_c weight 7 noreverse\n  }")
        );
        let config = clean(&text);
        let [a, b, c] = config.scripts.as_slice() else {
            panic!("{:?}", config.scripts)
        };
        assert_eq!(a.name, "chk_a");
        assert_eq!(a.command.argv().unwrap(), vec!["/bin/check", "a"]);
        assert_eq!(
            (a.interval, a.timeout),
            (Duration::from_secs(1), Duration::from_secs(1))
        );
        assert_eq!(a.weight, w(0, false));
        assert_eq!((a.rise, a.fall, a.init_fail), (1, 1, false));
        assert_eq!(a.command.user, None);
        assert_eq!(b.interval, Duration::from_secs(3));
        assert_eq!(
            b.timeout,
            Duration::from_secs(3),
            "the timeout defaults to the interval"
        );
        assert_eq!(b.weight, w(-20, true));
        assert_eq!((b.rise, b.fall, b.init_fail), (2, 4, true));
        assert_eq!(b.command.user.as_deref(), Some("nobody"));
        assert_eq!(b.command.group.as_deref(), Some("nogroup"));
        assert_eq!(
            (c.interval, c.timeout),
            (Duration::from_secs(5), Duration::from_secs(2))
        );
        let tracking = &config.instances[0].tracking;
        let weights: Vec<(&str, TrackWeight)> = tracking
            .scripts
            .iter()
            .map(|t| (t.name.as_str(), t.weight))
            .collect();
        assert_eq!(
            weights,
            vec![
                ("chk_a", w(0, false)),
                ("chk_b", w(-20, true)),
                ("chk_c", w(7, false))
            ],
            "entries default to the script's weight"
        );
    }

    #[test]
    fn scripts_may_be_defined_after_the_instances_that_track_them() {
        let text = format!(
            "{}vrrp_script late {{\n  script /bin/late\n  weight 5\n}}\n",
            instance("VI_1", 1, "  track_script {\n    late\n  }")
        );
        assert_eq!(
            clean(&text).instances[0].tracking.scripts[0].weight,
            w(5, false)
        );
    }

    #[test]
    fn vrrp_script_errors() {
        let script = |body: &str| {
            format!(
                "vrrp_script s {{\n{body}\n}}\n{}",
                instance("VI_1", 1, "  track_script {\n    s\n  }")
            )
        };
        for (body, expected) in [
            ("  interval 2", "/k.conf:1:1: error: vrrp_script s: has no 'script': the command to run, e.g. script \"/usr/bin/pgrep -x haproxy\""),
            ("  script /bin/a nobody", "/k.conf:2:10: error: vrrp_script s > script: takes only the command: quote a command that has arguments (script \"/path/to/check arg\") and name the user with 'user USER [GROUP]'"),
            ("  script /bin/a\n  interval 0", "/k.conf:3:12: error: vrrp_script s > interval: 0 is out of range: expected whole seconds 1-4294"),
            ("  script /bin/a\n  weight 254", "/k.conf:3:10: error: vrrp_script s > weight: 254 is out of range: expected -253..253"),
            ("  script /bin/a\n  weight -3 backwards", "/k.conf:3:13: error: vrrp_script s > weight: 'backwards' is not a weight option: expected 'weight -253..253 [reverse]'"),
            ("  script /bin/a\n  rise 0", "/k.conf:3:8: error: vrrp_script s > rise: 0 is out of range: expected a count of at least 1"),
            ("  script /bin/a\n  script /bin/b", "/k.conf:3:3: error: vrrp_script s > script: already set at /k.conf:2:3: keep one"),
            ("  script /bin/a\n  intreval 2", "/k.conf:3:3: error: vrrp_script s > intreval: unknown keyword, did you mean 'interval'?"),
        ] {
            let mut got = errors(&script(body));
            got.retain(|d| !d.contains("track_script"));
            assert_eq!(got, vec![expected], "{body}");
        }
        assert_eq!(
            errors(&format!(
                "vrrp_script s {{\n  script /a\n}}\nvrrp_script s {{\n  script /b\n}}\n{}",
                instance("VI_1", 1, "")
            )),
            vec!["/k.conf:4:1: error: vrrp_script s: a vrrp_script with this name is already defined at /k.conf:1:1: rename one"]
        );
    }

    #[test]
    fn tracking_entries_and_their_errors() {
        let config = clean(&format!(
            "track_file tf {{\n  file /run/tf\n}}\nvrrp_script s {{\n  script /bin/s\n}}\n{}",
            instance(
                "VI_1",
                1,
                "  dont_track_primary\n  track_interface {\n    eth1\n    eth2 weight -30\n    eth3 weight 10 reverse\n  }\n  track_interface {\n    eth4 weight 0\n  }\n  track_file {\n    tf\n  }\n  track_script {\n    s weight 3\n  }"
            )
        ));
        let i = &config.instances[0];
        assert!(i.dont_track_primary);
        let ifs: Vec<(&str, TrackWeight)> = i
            .tracking
            .interfaces
            .iter()
            .map(|t| (t.name.as_str(), t.weight))
            .collect();
        assert_eq!(
            ifs,
            vec![
                ("eth1", w(0, false)),
                ("eth2", w(-30, false)),
                ("eth3", w(10, true)),
                ("eth4", w(0, false))
            ]
        );
        assert_eq!(
            i.tracking.files[0].weight,
            w(1, false),
            "track_file's default weight is 1"
        );
        assert_eq!(i.tracking.scripts[0].weight, w(3, false));

        let with = |extra: &str| {
            format!(
                "vrrp_script chk_web {{\n  script /bin/s\n}}\n{}",
                instance("VI_1", 1, extra)
            )
        };
        for (extra, expected) in [
            ("  track_interface {\n    eth1 weight 254\n  }", "/k.conf:8:17: error: vrrp_instance VI_1 > track_interface > eth1: 254 is out of range: expected -253..253"),
            ("  track_interface {\n    eth1 weight\n  }", "/k.conf:8:5: error: vrrp_instance VI_1 > track_interface > eth1: missing value: expected 'weight -253..253 [reverse]'"),
            ("  track_interface {\n    eth1 weight 5 noreverse\n  }", "/k.conf:8:19: error: vrrp_instance VI_1 > track_interface > eth1: 'noreverse' is not a weight option: expected 'weight -253..253 [reverse]'"),
            ("  track_interface {\n    eth1 heavy\n  }", "/k.conf:8:10: error: vrrp_instance VI_1 > track_interface > eth1: 'heavy' is not an option here: expected 'eth1 [weight N]'"),
            ("  track_interface {\n    eth1\n    eth1 weight 2\n  }", "/k.conf:9:5: error: vrrp_instance VI_1 > track_interface > eth1: already tracked at /k.conf:8:5: keep one"),
            ("  track_interface {\n    a/b\n  }", "/k.conf:8:5: error: vrrp_instance VI_1 > track_interface > a/b: 'a/b' is not a valid interface name: it contains '/', ':' or white space"),
            ("  track_interface eth1", "/k.conf:7:19: error: vrrp_instance VI_1 > track_interface: entries go inside the block, one per line"),
            ("  track_script {\n    chk_wbe\n  }", "/k.conf:8:5: error: vrrp_instance VI_1 > track_script > chk_wbe: no vrrp_script named 'chk_wbe', did you mean 'chk_web'?"),
            ("  track_file {\n    nothing\n  }", "/k.conf:8:5: error: vrrp_instance VI_1 > track_file > nothing: no track_file named 'nothing': define it with 'track_file nothing { ... }'"),
            ("  track_file {\n    chk_web weight 255\n  }", "/k.conf:8:20: error: vrrp_instance VI_1 > track_file > chk_web: 255 is out of range: expected -254..254"),
        ] {
            assert_eq!(errors(&with(extra)), vec![expected], "{extra}");
        }
    }

    #[test]
    fn track_files_and_init_file() {
        let text = format!(
            "track_file a {{\n  file /run/a\n  weight -2 reverse\n  init_file 7 overwrite\n}}\nvrrp_track_file b {{\n  file /run/b\n  init_file\n}}\n{}",
            instance("VI_1", 1, "  track_file {\n    a\n    b weight 4\n  }")
        );
        let (config, diags) = run(&text);
        assert_eq!(
            diags,
            vec!["/k.conf:6:1: warning: vrrp_track_file b: deprecated in keepalived: write 'track_file'"]
        );
        let config = config.unwrap();
        let [a, b] = config.track_files.as_slice() else {
            panic!()
        };
        assert_eq!(a.path, Path::new("/run/a"));
        assert_eq!(a.weight, w(-2, true));
        assert_eq!(
            a.init,
            Some(TrackFileInit {
                value: 7,
                overwrite: true
            })
        );
        assert_eq!(b.weight, w(1, false));
        assert_eq!(
            b.init,
            Some(TrackFileInit {
                value: 0,
                overwrite: false
            })
        );
        let refs: Vec<TrackWeight> = config.instances[0]
            .tracking
            .files
            .iter()
            .map(|f| f.weight)
            .collect();
        assert_eq!(refs, vec![w(-2, true), w(4, false)]);

        for (body, expected) in [
            ("  weight 3", "/k.conf:1:1: error: track_file t: has no 'file': the path of the file to watch"),
            ("  file run/t", "/k.conf:2:8: error: track_file t > file: 'run/t' is not an absolute path: write the full path (keepvip runs from /)"),
            ("  file /run/t\n  init_file x", "/k.conf:3:13: error: track_file t > init_file: 'x' is neither a 32-bit number nor 'overwrite': expected 'init_file [VALUE] [overwrite]'"),
        ] {
            let text = format!("track_file t {{\n{body}\n}}\n{}", instance("VI_1", 1, ""));
            assert_eq!(errors(&text), vec![expected], "{body}");
        }
    }

    #[test]
    fn sync_groups_resolve_their_members_and_zero_member_weights() {
        let text = format!(
            "vrrp_script s {{\n  script /bin/s\n  weight 10\n}}\nvrrp_sync_group G {{\n  group {{\n    VI_1\n    VI_2\n  }}\n  notify_master \"/bin/g master\"\n  notify /bin/g\n  track_interface {{\n    eth9 weight 5\n  }}\n}}\n{}{}",
            instance("VI_1", 1, "  track_script {\n    s\n  }"),
            instance("VI_2", 2, "")
        );
        let (config, diags) = run(&text);
        assert_eq!(
            diags,
            vec![
                "/k.conf:13:5: warning: vrrp_sync_group G > track_interface > eth9: weight ignored: members of vrrp_sync_group G track with weight 0 (a failure means FAULT), as in keepalived; add 'sync_group_tracking_weight' to the group to keep weights",
                "/k.conf:20:5: warning: vrrp_instance VI_1 > track_script > s: weight ignored: members of vrrp_sync_group G track with weight 0 (a failure means FAULT), as in keepalived; add 'sync_group_tracking_weight' to the group to keep weights",
            ]
        );
        let config = config.unwrap();
        let g = &config.sync_groups[0];
        assert_eq!(g.members, vec!["VI_1", "VI_2"]);
        assert_eq!(
            g.notify.master.as_ref().unwrap().argv().unwrap(),
            vec!["/bin/g", "master"]
        );
        assert_eq!(g.notify.any.as_ref().unwrap().command, "/bin/g");
        assert_eq!(g.tracking.interfaces[0].weight, w(0, false));
        assert_eq!(config.instances[0].tracking.scripts[0].weight, w(0, false));
        assert!(!g.tracking_weight);

        let kept = clean(&text.replace(
            "  notify /bin/g\n",
            "  notify /bin/g\n  sync_group_tracking_weight\n",
        ));
        assert_eq!(
            kept.sync_groups[0].tracking.interfaces[0].weight,
            w(5, false)
        );
        assert_eq!(kept.instances[0].tracking.scripts[0].weight, w(10, false));
    }

    #[test]
    fn sync_group_errors() {
        let two = format!("{}{}", instance("VI_1", 1, ""), instance("VI_2", 2, ""));
        for (group, expected) in [
            ("vrrp_sync_group G {\n  group {\n    VI_1 VI_3\n  }\n}\n", vec!["/k.conf:3:10: error: vrrp_sync_group G > group > VI_3: no vrrp_instance named 'VI_3'"]),
            ("vrrp_sync_group G {\n  group {\n    VI_1\n    VI_1\n  }\n}\n", vec!["/k.conf:4:5: error: vrrp_sync_group G > group > VI_1: listed twice"]),
            ("vrrp_sync_group G {\n  group {\n    VI_1 VI_2\n  }\n}\nvrrp_sync_group H {\n  group {\n    VI_2\n  }\n}\n", vec!["/k.conf:8:5: error: vrrp_sync_group H > group > VI_2: already in vrrp_sync_group G (at /k.conf:3:10): an instance belongs to one sync group at most"]),
            ("vrrp_sync_group G {\n  notify /bin/x\n}\n", vec!["/k.conf:1:1: error: vrrp_sync_group G: has no members: list them in 'group { VI_1 VI_2 }'"]),
            ("vrrp_sync_group G {\n  group {\n    VI_1 VI_2\n  }\n  notify_deleted\n}\n", vec!["/k.conf:5:3: error: vrrp_sync_group G > notify_deleted: not supported by keepvip yet"]),
        ] {
            assert_eq!(errors(&format!("{group}{two}")), expected, "{group}");
        }
    }

    #[test]
    fn every_implemented_keyword_of_the_new_blocks_has_a_handler() {
        let implemented = |table: &'static [keywords::Keyword]| {
            table
                .iter()
                .filter(|k| k.support == Support::Implemented)
                .map(|k| k.name)
                .collect::<Vec<_>>()
        };
        let body = instance("VI_1", 1, "") + &instance("VI_2", 2, "");
        for kw in implemented(keywords::VRRP_SCRIPT) {
            let line = match kw {
                "script" => String::new(),
                "user" => "  user root".into(),
                "init_fail" => "  init_fail".into(),
                _ => format!("  {kw} 2"),
            };
            let (_, diags) = run(&format!(
                "vrrp_script s {{\n  script /bin/s\n{line}\n}}\n{body}"
            ));
            assert!(
                diags.iter().all(|d| !d.contains("keepvip bug")),
                "{kw}: {diags:?}"
            );
        }
        for kw in implemented(keywords::TRACK_FILE) {
            let line = if kw == "file" {
                String::new()
            } else {
                format!("  {kw} 2")
            };
            let (_, diags) = run(&format!("track_file t {{\n  file /t\n{line}\n}}\n{body}"));
            assert!(
                diags.iter().all(|d| !d.contains("keepvip bug")),
                "{kw}: {diags:?}"
            );
        }
        for kw in implemented(keywords::SYNC_GROUP) {
            let line = match kw {
                "group" => String::new(),
                k if k.starts_with("notify") => format!("  {kw} /bin/n"),
                k if k.starts_with("track_") => format!("  {kw} {{\n  }}"),
                _ => format!("  {kw}"),
            };
            let (_, diags) = run(&format!(
                "vrrp_sync_group G {{\n  group {{\n    VI_1 VI_2\n  }}\n{line}\n}}\n{body}"
            ));
            assert!(
                diags.iter().all(|d| !d.contains("keepvip bug")),
                "{kw}: {diags:?}"
            );
        }
    }
}
