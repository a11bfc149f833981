//! The generic keepalived grammar: `keyword args... [{ statements }]`, one statement per line.
//! The `{` may sit on the keyword's line or on a following line. Whether a keyword may take a
//! block is the builder's business; here any statement followed by `{` gets one, so that a
//! misplaced block is reported once, with the keyword, instead of derailing everything after.
//!
//! Iterative (an explicit stack), so no input can exhaust the call stack.

use super::diag::{Diags, Span};
use super::lexer::{Token, TokenKind, Word};
use std::rc::Rc;

/// Blocks nested deeper than this are reported and their contents dropped (keepalived's own
/// grammar is at most four levels deep).
const MAX_DEPTH: usize = 32;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Statement {
    pub keyword: Word,
    pub args: Vec<Word>,
    /// The arguments as written (quotes and escapes included), for keywords that re-split them
    /// with keepalived's script rules. Empty without arguments.
    pub raw_args: String,
    pub block: Option<Block>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Block {
    pub open: Span,
    /// `None` if the file ended before the matching `}` (already reported).
    pub close: Option<Span>,
    pub items: Vec<Statement>,
}

impl Statement {
    /// A step of a context path: `vrrp_instance VI_1`, or the bare keyword without arguments.
    pub fn label(&self) -> String {
        match self.args.first() {
            Some(name) => format!("{} {}", self.keyword.text, name.text),
            None => self.keyword.text.clone(),
        }
    }
}

struct Frame {
    /// `None` for a block with no keyword before it (reported, then dropped when closed).
    owner: Option<Statement>,
    open: Span,
    items: Vec<Statement>,
}

pub(crate) fn parse(tokens: Vec<Token>, diags: &mut Diags) -> Vec<Statement> {
    let mut tokens = tokens;
    let mut root: Vec<Statement> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    // The labels of the stack's frames that have an owner, kept as the stack changes: at most
    // MAX_DEPTH of them, however many anonymous `{` are open. Rebuilding it from the stack for
    // every diagnostic made a line of 100,000 `{` quadratic (found by fuzz/config: a 533-byte
    // file whose generators expand to such lines took minutes).
    let mut owners: Vec<String> = Vec::new();
    let mut too_deep_reported = false;
    let mut i = 0;

    while let Some(token) = tokens.get_mut(i) {
        let span = token.span;
        // Take the token, leaving a harmless line end behind.
        let kind = std::mem::replace(&mut token.kind, TokenKind::Eol);
        i += 1;
        match kind {
            TokenKind::Eol => {}
            TokenKind::Close => match stack.pop() {
                Some(frame) => {
                    if frame.owner.is_some() {
                        owners.pop();
                    }
                    close_frame(frame, Some(span), &mut stack, &mut root)
                }
                None => diags.error(Some(span), &[], "unexpected '}': no block is open here"),
            },
            TokenKind::Open => {
                diags.error(
                    Some(span),
                    &owners,
                    "'{' without a keyword before it; its block is ignored",
                );
                stack.push(Frame {
                    owner: None,
                    open: span,
                    items: Vec::new(),
                });
            }
            TokenKind::Word(keyword) => {
                let mut args = Vec::new();
                while let Some(token) = tokens.get_mut(i) {
                    if !matches!(token.kind, TokenKind::Word(_)) {
                        break;
                    }
                    if let TokenKind::Word(word) =
                        std::mem::replace(&mut token.kind, TokenKind::Eol)
                    {
                        args.push(word);
                    }
                    i += 1;
                }
                let raw_args = raw_text(&keyword, &args);
                let statement = Statement {
                    keyword,
                    args,
                    raw_args,
                    block: None,
                };
                // The block may open on this line or after any number of line ends.
                let mut next = i;
                while matches!(tokens.get(next).map(|t| &t.kind), Some(TokenKind::Eol)) {
                    next += 1;
                }
                match tokens.get(next) {
                    Some(Token {
                        kind: TokenKind::Open,
                        span: open,
                    }) => {
                        let open = *open;
                        i = next + 1;
                        if stack.len() >= MAX_DEPTH {
                            if !too_deep_reported {
                                diags.error(
                                    Some(open),
                                    &owners,
                                    format!(
                                        "blocks nested more than {MAX_DEPTH} deep; the inner ones are ignored"
                                    ),
                                );
                                too_deep_reported = true;
                            }
                            stack.push(Frame {
                                owner: None,
                                open,
                                items: Vec::new(),
                            });
                        } else {
                            owners.push(statement.label());
                            stack.push(Frame {
                                owner: Some(statement),
                                open,
                                items: Vec::new(),
                            });
                        }
                    }
                    _ => push(statement, &mut stack, &mut root),
                }
            }
        }
    }

    // Unclosed blocks: report each, keep what they hold so that their contents are still
    // checked.
    while let Some(frame) = stack.pop() {
        if frame.owner.is_some() {
            owners.pop();
        }
        let mut ctx = owners.clone();
        if let Some(owner) = &frame.owner {
            ctx.push(owner.label());
        }
        diags.error(
            Some(frame.open),
            &ctx,
            "this '{' is never closed: a '}' is missing",
        );
        close_frame(frame, None, &mut stack, &mut root);
    }
    root
}

fn close_frame(frame: Frame, close: Option<Span>, stack: &mut [Frame], root: &mut Vec<Statement>) {
    if let Some(mut owner) = frame.owner {
        owner.block = Some(Block {
            open: frame.open,
            close,
            items: frame.items,
        });
        push(owner, stack, root);
    }
}

fn push(statement: Statement, stack: &mut [Frame], root: &mut Vec<Statement>) {
    match stack.last_mut() {
        Some(frame) => frame.items.push(statement),
        None => root.push(statement),
    }
}

/// Writes `statements` as keepalived.conf text, one statement a line, blocks indented by two
/// spaces per level. Quoted words keep their quotes; `#` and `!` in bare words are escaped.
/// The `auth_pass` secret is shown as `********` (dumps end up in bug reports).
pub(crate) fn render(statements: &[Statement], depth: usize, out: &mut String) {
    for statement in statements {
        out.push_str(&"  ".repeat(depth));
        render_word(&statement.keyword, out);
        if statement.keyword.text == "auth_pass" && !statement.args.is_empty() {
            out.push_str(" ********");
        } else {
            let mut previous = &statement.keyword;
            for arg in &statement.args {
                // Words that touched (`/"a b"` is two words the script splitter joins again)
                // must touch in the dump too, or it would mean something else.
                let touching = Rc::ptr_eq(&previous.line, &arg.line) && previous.end == arg.start;
                if !touching {
                    out.push(' ');
                }
                render_word(arg, out);
                previous = arg;
            }
        }
        match &statement.block {
            Some(block) => {
                out.push_str(" {\n");
                render(&block.items, depth + 1, out);
                out.push_str(&"  ".repeat(depth));
                out.push_str("}\n");
            }
            None => out.push('\n'),
        }
    }
}

fn render_word(word: &Word, out: &mut String) {
    if word.quoted {
        out.push('"');
        out.push_str(&word.text);
        out.push('"');
    } else {
        for c in word.text.chars() {
            if matches!(c, '#' | '!') {
                out.push('\\');
            }
            out.push(c);
        }
    }
}

/// The text from the first argument to the last, as preprocessed. Statements never span lines,
/// so all arguments are in the keyword's line.
fn raw_text(keyword: &Word, args: &[Word]) -> String {
    let (Some(first), Some(last)) = (args.first(), args.last()) else {
        return String::new();
    };
    keyword
        .line
        .get(first.start..last.end)
        .map(str::to_string)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::lexer::Lexer;
    use super::super::source::MemFs;
    use super::*;
    use std::path::Path;

    fn parse_text(text: &str) -> (Vec<Statement>, Vec<String>) {
        let fs = MemFs::new();
        let mut lexer = Lexer::new(&fs);
        lexer.lex_main(Path::new("/k.conf"), text);
        let tokens = std::mem::take(&mut lexer.tokens);
        let tree = parse(tokens, &mut lexer.diags);
        let messages = lexer
            .diags
            .items
            .iter()
            .map(|d| {
                let line = d.span.map_or(0, |s| s.line);
                let ctx = d.context.join(" > ");
                format!("{line}: {ctx}: {}", d.message)
            })
            .collect();
        (tree, messages)
    }

    fn shape(statements: &[Statement]) -> String {
        statements
            .iter()
            .map(|s| {
                let mut out = s.keyword.text.clone();
                for a in &s.args {
                    out.push(' ');
                    out.push_str(&a.text);
                }
                if let Some(block) = &s.block {
                    out.push_str(" { ");
                    out.push_str(&shape(&block.items));
                    out.push_str(" }");
                }
                out
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    #[test]
    fn blocks_open_on_the_same_or_a_later_line() {
        let (tree, messages) = parse_text(
            "global_defs {\n router_id r1\n}\nvrrp_instance VI_1\n\n{\n priority 100\n virtual_ipaddress { 192.0.2.1 }\n}\n",
        );
        assert_eq!(
            shape(&tree),
            "global_defs { router_id r1 }; vrrp_instance VI_1 { priority 100; virtual_ipaddress { 192.0.2.1 } }"
        );
        assert!(messages.is_empty());
    }

    #[test]
    fn raw_args_keep_quotes() {
        let (tree, _) = parse_text("notify_master \"/bin/echo 'a b'\" root # c\n");
        assert_eq!(tree[0].raw_args, "\"/bin/echo 'a b'\" root");
    }

    #[test]
    fn stray_and_missing_braces() {
        let (tree, messages) = parse_text("a {\n b 1\n}\n}\n{ c }\nd {\n e {\n");
        assert_eq!(shape(&tree), "a { b 1 }; d { e {  } }");
        assert_eq!(
            messages,
            vec![
                "4: : unexpected '}': no block is open here",
                "5: : '{' without a keyword before it; its block is ignored",
                "7: d > e: this '{' is never closed: a '}' is missing",
                "6: d: this '{' is never closed: a '}' is missing",
            ]
        );
    }

    #[test]
    fn deep_nesting_is_cut_without_recursion() {
        let text = "x {\n".repeat(2_000);
        let (tree, messages) = parse_text(&text);
        assert_eq!(tree.len(), 1);
        assert!(messages[0].contains("nested more than 32 deep"));
        // One error per unclosed brace, none lost.
        assert_eq!(messages.len(), 1 + 2_000);
    }

    #[test]
    fn many_anonymous_braces_cost_linear_time() {
        // Regression (fuzz/config): every diagnostic rebuilt its context from the whole stack,
        // so 100,000 open `{` took 10^10 steps (minutes; this test would time out).
        let text = format!("a {{\n b {{ {}\n", "{ ".repeat(100_000));
        let (tree, messages) = parse_text(&text);
        assert_eq!(shape(&tree), "a { b {  } }");
        assert_eq!(messages.len(), 2 * 100_000 + 2);
        assert_eq!(
            messages[0],
            "2: a > b: '{' without a keyword before it; its block is ignored"
        );
        assert_eq!(
            messages.last().map(String::as_str),
            Some("1: a: this '{' is never closed: a '}' is missing")
        );
    }

    #[test]
    fn render_indents_blocks_and_keeps_quotes() {
        let (tree, _) = parse_text("a 1 { b \"x y\" c\\#d\n e { f }\n}\ng\n");
        let mut out = String::new();
        render(&tree, 0, &mut out);
        assert_eq!(out, "a 1 {\n  b \"x y\" c\\#d\n  e {\n    f\n  }\n}\ng\n");
        // What is rendered reads back the same.
        let (again, _) = parse_text(&out);
        assert_eq!(shape(&again), shape(&tree));
        // Regression (fuzz/config): touching words stay touching, so that a script command
        // written `/"usr/bin/x y"` is dumped as the one argument it is.
        let (tree, _) = parse_text("script /\"usr/bin/x y\"\"z\" w\n");
        let mut touching = String::new();
        render(&tree, 0, &mut touching);
        assert_eq!(touching, "script /\"usr/bin/x y\"\"z\" w\n");
    }
}
