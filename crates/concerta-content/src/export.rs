//! A strategy (or one of its versions) as Markdown or as a printable HTML page.
//!
//! Both are built from [`Export`]: the strategy's title, the version shown (if any), and its
//! sections in order, each with its stage, title, responsible area and content. Section
//! titles are level-3 headings under the level-2 stage headings; headings inside a body
//! move down three levels (capped at 6). Everything that came from users is escaped; link
//! and image addresses with a scheme other than http, https or mailto are dropped.

use concerta_core::{Locale, Stage};

use crate::rich::{Block, Inline, Link};
use crate::section::SectionContent;
use crate::tree::{Element, Tag, build};

/// The version an export shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportVersion {
    /// Its name ("Aprobada por el Alcalde").
    pub name: String,
    /// When it was named (already formatted, e.g. `2026-11-29`).
    pub created_at: String,
    /// When it was approved, if it was (formatted).
    pub approved_at: Option<String>,
}

/// One section of an export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportSection {
    /// Its stage.
    pub stage: Stage,
    /// The title to show (the document's live title, or the one it was made with).
    pub title: String,
    /// The responsible area's name, if any.
    pub area: Option<String>,
    /// What it says.
    pub blocks: Vec<Block>,
}

/// What an export shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Export {
    /// The strategy's title.
    pub title: String,
    /// The language of the labels (the city's locale).
    pub locale: Locale,
    /// The version shown; `None` for the current text.
    pub version: Option<ExportVersion>,
    /// When the export was made (formatted).
    pub exported_at: String,
    /// The sections in order.
    pub sections: Vec<ExportSection>,
}

impl ExportSection {
    /// A section from its stage, the title it was made with, its area and its content; the
    /// document's live title wins when it is not empty.
    pub fn new(stage: Stage, fallback_title: &str, area: Option<String>, content: SectionContent) -> Self {
        let title = if content.title.trim().is_empty() { fallback_title.to_owned() } else { content.title };
        Self { stage, title, area, blocks: content.blocks }
    }
}

struct Labels {
    stage: fn(Stage) -> &'static str,
    area: &'static str,
    version: &'static str,
    created: &'static str,
    approved: &'static str,
    current: &'static str,
    exported: &'static str,
    empty: &'static str,
}

fn labels(locale: Locale) -> Labels {
    match locale {
        Locale::Es => Labels {
            stage: |s| match s {
                Stage::DesignPlanning => "Diseño y planeación",
                Stage::Implementation => "Implementación",
                Stage::Evaluation => "Evaluación",
            },
            area: "Área responsable",
            version: "Versión",
            created: "creada el",
            approved: "aprobada el",
            current: "Texto vigente",
            exported: "Exportado el",
            empty: "(Sin contenido todavía)",
        },
        Locale::En => Labels {
            stage: |s| match s {
                Stage::DesignPlanning => "Design and planning",
                Stage::Implementation => "Implementation",
                Stage::Evaluation => "Evaluation",
            },
            area: "Responsible area",
            version: "Version",
            created: "named on",
            approved: "approved on",
            current: "Current text",
            exported: "Exported on",
            empty: "(No content yet)",
        },
        Locale::Pt => Labels {
            stage: |s| match s {
                Stage::DesignPlanning => "Desenho e planejamento",
                Stage::Implementation => "Implementação",
                Stage::Evaluation => "Avaliação",
            },
            area: "Área responsável",
            version: "Versão",
            created: "criada em",
            approved: "aprovada em",
            current: "Texto vigente",
            exported: "Exportado em",
            empty: "(Ainda sem conteúdo)",
        },
    }
}

fn meta_line(export: &Export, l: &Labels) -> String {
    match &export.version {
        Some(v) => {
            let mut s = format!("{} «{}», {} {}", l.version, v.name, l.created, v.created_at);
            if let Some(approved) = &v.approved_at {
                s.push_str(&format!(", {} {}", l.approved, approved));
            }
            s
        }
        None => format!("{} · {} {}", l.current, l.exported, export.exported_at),
    }
}

/// Whether a link or image address may be kept: http(s), mailto, or no scheme at all
/// (relative addresses and fragments).
pub fn safe_url(url: &str) -> bool {
    let url = url.trim();
    if url.is_empty() || url.chars().any(|c| c.is_control()) {
        return false;
    }
    match url.find(':') {
        None => true,
        Some(colon) => {
            let scheme = &url[..colon];
            // A colon after a path or query character is not a scheme separator.
            if scheme.contains(['/', '?', '#']) {
                return true;
            }
            matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https" | "mailto")
        }
    }
}

fn body_heading_level(level: u8) -> usize {
    usize::from(level).saturating_add(3).min(6)
}

// ---------------------------------------------------------------- Markdown

/// The export as CommonMark.
pub fn to_markdown(export: &Export) -> String {
    let l = labels(export.locale);
    let mut out = String::new();
    out.push_str(&format!("# {}\n\n", md_escape_line(&export.title)));
    out.push_str(&format!("*{}*\n", md_escape_line(&meta_line(export, &l))));
    let mut stage = None;
    for section in &export.sections {
        if stage != Some(section.stage) {
            stage = Some(section.stage);
            out.push_str(&format!("\n## {}\n", md_escape_line((l.stage)(section.stage))));
        }
        out.push_str(&format!("\n### {}\n", md_escape_line(&section.title)));
        if let Some(area) = &section.area {
            out.push_str(&format!("\n*{}: {}*\n", md_escape_line(l.area), md_escape_line(area)));
        }
        let body = blocks_to_markdown(&section.blocks);
        if body.trim().is_empty() {
            out.push_str(&format!("\n{}\n", md_escape_line(l.empty)));
        } else {
            out.push('\n');
            out.push_str(&body);
        }
    }
    out
}

/// A body's blocks as CommonMark (headings moved down three levels).
pub fn blocks_to_markdown(blocks: &[Block]) -> String {
    let mut lines = Vec::new();
    md_elements(&build(blocks), &mut lines);
    let mut out = lines.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// Appends the lines of `elements`, separated by blank lines.
fn md_elements(elements: &[Element], lines: &mut Vec<String>) {
    for (i, el) in elements.iter().enumerate() {
        if i > 0 {
            lines.push(String::new());
        }
        md_element(el, lines);
    }
}

fn md_element(el: &Element, lines: &mut Vec<String>) {
    match &el.tag {
        Tag::Heading(level) => {
            let text = md_inlines(&el.inlines).replace('\n', " ");
            lines.push(format!("{} {}", "#".repeat(body_heading_level(*level)), text));
            children_after(el, lines);
        }
        Tag::Paragraph | Tag::Other(_) | Tag::Aside => {
            let text = md_inlines(&el.inlines);
            if !text.is_empty() {
                lines.extend(text.lines().map(str::to_owned));
            }
            children_after(el, lines);
        }
        Tag::CodeBlock => {
            let text: String = el.inlines.iter().map(|i| i.text.as_str()).collect();
            let fence = "`".repeat(longest_run(&text, '`').max(2) + 1);
            lines.push(fence.clone());
            lines.extend(text.lines().map(str::to_owned));
            lines.push(fence);
        }
        Tag::Image { src, alt } => {
            if safe_url(src) {
                lines.push(format!("![{}]({})", md_text(alt), md_url(src)));
            } else if !alt.is_empty() {
                lines.push(md_text(alt));
            }
        }
        Tag::Blockquote => {
            let mut inner = Vec::new();
            let text = md_inlines(&el.inlines);
            if !text.is_empty() {
                inner.extend(text.lines().map(str::to_owned));
            }
            if !el.children.is_empty() {
                if !inner.is_empty() {
                    inner.push(String::new());
                }
                md_elements(&el.children, &mut inner);
            }
            lines.extend(inner.into_iter().map(|l| if l.is_empty() { ">".to_owned() } else { format!("> {l}") }));
        }
        Tag::BulletList | Tag::NumberedList => {
            let numbered = el.tag == Tag::NumberedList;
            for (n, item) in el.children.iter().enumerate() {
                let marker = if numbered { format!("{}. ", n + 1) } else { "- ".to_owned() };
                let indent = " ".repeat(marker.len());
                let mut inner = Vec::new();
                if item.tag == Tag::ListItem {
                    let text = md_inlines(&item.inlines);
                    inner.extend(text.lines().map(str::to_owned));
                    for child in &item.children {
                        if !matches!(child.tag, Tag::BulletList | Tag::NumberedList) || inner.is_empty() {
                            if !inner.is_empty() {
                                inner.push(String::new());
                            }
                        }
                        md_element(child, &mut inner);
                    }
                } else {
                    md_element(item, &mut inner);
                }
                if inner.is_empty() {
                    inner.push(String::new());
                }
                for (k, line) in inner.into_iter().enumerate() {
                    if k == 0 {
                        lines.push(format!("{marker}{line}").trim_end().to_owned());
                    } else if line.is_empty() {
                        lines.push(String::new());
                    } else {
                        lines.push(format!("{indent}{line}"));
                    }
                }
            }
        }
        Tag::ListItem => {
            // An item outside a list cannot be built; render its text.
            lines.push(md_inlines(&el.inlines));
            children_after(el, lines);
        }
    }
}

fn children_after(el: &Element, lines: &mut Vec<String>) {
    if !el.children.is_empty() {
        lines.push(String::new());
        md_elements(&el.children, lines);
    }
}

fn longest_run(text: &str, c: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for ch in text.chars() {
        if ch == c {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

/// Escapes text that starts a line (a heading's or the meta line's text).
fn md_escape_line(text: &str) -> String {
    md_lines(&md_text(text.trim()))
}

/// Backslash-escapes the characters that mean something inline.
fn md_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '#' | '|' | '~') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Makes every line of already inline-escaped `text` safe at the start of a line: no
/// leading or trailing whitespace, a leading `-`, `+`, `=` or `N.`/`N)` escaped.
fn md_lines(text: &str) -> String {
    let lines: Vec<String> = text
        .split('\n')
        .map(|line| {
            let line = line.trim();
            let mut out = String::with_capacity(line.len() + 1);
            let digits = line.chars().take_while(char::is_ascii_digit).count();
            let first = line.chars().next();
            if matches!(first, Some('-' | '+' | '=')) {
                out.push('\\');
                out.push_str(line);
            } else if digits > 0 && matches!(line[digits..].chars().next(), Some('.' | ')')) {
                out.push_str(&line[..digits]);
                out.push('\\');
                out.push_str(&line[digits..]);
            } else {
                out.push_str(line);
            }
            out
        })
        .collect();
    // A line break inside a block is a hard break.
    lines.join("\\\n")
}

fn md_url(url: &str) -> String {
    let url = url.trim();
    if url.contains([' ', '(', ')']) {
        format!("<{}>", url.replace('<', "%3C").replace('>', "%3E"))
    } else {
        url.replace('\\', "%5C")
    }
}

fn is_punct(c: char) -> bool {
    !c.is_alphanumeric() && !c.is_whitespace()
}

/// Inline runs as CommonMark, each line already safe at a line start.
fn md_inlines(inlines: &[Inline]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < inlines.len() {
        let link = inlines[i].marks.link.clone();
        let mut j = i + 1;
        while j < inlines.len() && inlines[j].marks.link == link {
            j += 1;
        }
        let group = &inlines[i..j];
        match link.filter(|l| safe_url(&l.href) && !l.href.contains(['<', '>', '\n'])) {
            Some(Link { href, title }) => {
                let text = md_runs(group);
                if text.trim().is_empty() {
                    out.push_str(&text);
                } else {
                    // `![` would make an image.
                    if out.ends_with('!') {
                        out.pop();
                        out.push_str("\\!");
                    }
                    out.push('[');
                    out.push_str(&text);
                    out.push_str("](");
                    out.push_str(&md_url(&href));
                    if let Some(title) = title {
                        out.push_str(" \"");
                        out.push_str(&title.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', " "));
                        out.push('"');
                    }
                    out.push(')');
                }
            }
            None => out.push_str(&md_runs(group)),
        }
        i = j;
    }
    md_lines(&out)
}

/// Runs with bold and italic: `**`/`*` where CommonMark's flanking rules let them work,
/// `<strong>`/`<em>` where they would not (a mark boundary inside a word next to
/// punctuation, two formatted runs touching).
fn md_runs(runs: &[Inline]) -> String {
    let mut out = String::new();
    let mut prev_delimited_touching = false;
    for (k, run) in runs.iter().enumerate() {
        let (strong, em) = (run.marks.strong, run.marks.em);
        let text = run.text.as_str();
        let core = text.trim();
        if core.is_empty() || (!strong && !em) {
            out.push_str(&md_text(text));
            prev_delimited_touching = false;
            continue;
        }
        let lead = &text[..text.len() - text.trim_start().len()];
        let trail = &text[text.trim_end().len()..];
        let escaped = md_text(core);
        out.push_str(&md_text(lead));
        let before = out.chars().last();
        let next_raw = runs[k + 1..].iter().flat_map(|r| r.text.chars()).next();
        let next_marked = runs.get(k + 1).is_some_and(|r| r.marks.strong || r.marks.em);
        let after = if !trail.is_empty() {
            Some(' ')
        } else {
            match next_raw {
                None => None,
                // A formatted neighbour falls back to tags, which start with `<`.
                Some(_) if next_marked => Some('<'),
                Some(c) => Some(c),
            }
        };
        let first = escaped.chars().next().expect("core is not empty");
        let last = escaped.chars().last().expect("core is not empty");
        let open_ok = !first.is_whitespace() && (!is_punct(first) || before.is_none_or(|c| c.is_whitespace() || is_punct(c)));
        let close_ok = !last.is_whitespace() && (!is_punct(last) || after.is_none_or(|c| c.is_whitespace() || is_punct(c)));
        let touching = lead.is_empty() && prev_delimited_touching;
        if open_ok && close_ok && !touching {
            let d = match (strong, em) {
                (true, true) => "***",
                (true, false) => "**",
                _ => "*",
            };
            out.push_str(d);
            out.push_str(&escaped);
            out.push_str(d);
            prev_delimited_touching = trail.is_empty();
        } else {
            let (open, close) = match (strong, em) {
                (true, true) => ("<strong><em>", "</em></strong>"),
                (true, false) => ("<strong>", "</strong>"),
                _ => ("<em>", "</em>"),
            };
            out.push_str(open);
            out.push_str(&escaped);
            out.push_str(close);
            prev_delimited_touching = false;
        }
        out.push_str(&md_text(trail));
    }
    out
}

// ---------------------------------------------------------------- HTML

/// Escapes text for HTML content and attribute values.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
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

/// The print stylesheet of the HTML export (kept in one constant so a Content-Security-Policy
/// can allow exactly it by hash).
pub const PRINT_CSS: &str = "\
:root{color-scheme:light}\
body{font-family:Georgia,'Times New Roman',serif;line-height:1.5;color:#111;max-width:46rem;margin:2rem auto;padding:0 1rem}\
h1,h2,h3,h4,h5,h6{font-family:'Helvetica Neue',Arial,sans-serif;line-height:1.2}\
h1{font-size:1.9rem;margin-bottom:.2rem}\
h2{font-size:1.45rem;border-bottom:2px solid #333;padding-bottom:.2rem;margin-top:2.5rem}\
h3{font-size:1.2rem;margin-top:1.8rem}\
.meta,.area{color:#444;font-style:italic}\
.empty{color:#666}\
blockquote{border-left:3px solid #999;margin-left:0;padding-left:1rem;color:#333}\
pre{white-space:pre-wrap;background:#f4f4f4;padding:.5rem}\
img{max-width:100%}\
@page{size:A4;margin:2cm}\
@media print{body{margin:0;max-width:none;font-size:11pt}\
h2{break-before:page}section.stage:first-of-type h2{break-before:auto}\
h2,h3,h4{break-after:avoid}li,p{orphans:3;widows:3}\
a{color:inherit;text-decoration:none}a[href^='http']::after{content:' (' attr(href) ')';font-size:90%;color:#444}}";

/// The export as a standalone HTML page with a print stylesheet.
pub fn to_html(export: &Export) -> String {
    let l = labels(export.locale);
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n");
    out.push_str(&format!("<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\"/>\n", export.locale.as_str()));
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n");
    out.push_str(&format!("<title>{}</title>\n", html_escape(&export.title)));
    out.push_str(&format!("<style>{PRINT_CSS}</style>\n</head>\n<body>\n"));
    out.push_str(&format!(
        "<header>\n<h1>{}</h1>\n<p class=\"meta\">{}</p>\n</header>\n",
        html_escape(&export.title),
        html_escape(&meta_line(export, &l))
    ));
    let mut stage = None;
    for section in &export.sections {
        if stage != Some(section.stage) {
            if stage.is_some() {
                out.push_str("</section>\n");
            }
            stage = Some(section.stage);
            out.push_str(&format!(
                "<section class=\"stage\">\n<h2>{}</h2>\n",
                html_escape((l.stage)(section.stage))
            ));
        }
        out.push_str(&format!("<article class=\"section\">\n<h3>{}</h3>\n", html_escape(&section.title)));
        if let Some(area) = &section.area {
            out.push_str(&format!("<p class=\"area\">{}: {}</p>\n", html_escape(l.area), html_escape(area)));
        }
        let body = blocks_to_html(&section.blocks);
        if body.trim().is_empty() {
            out.push_str(&format!("<p class=\"empty\">{}</p>\n", html_escape(l.empty)));
        } else {
            out.push_str(&body);
        }
        out.push_str("</article>\n");
    }
    if stage.is_some() {
        out.push_str("</section>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// A body's blocks as HTML elements (headings moved down three levels).
pub fn blocks_to_html(blocks: &[Block]) -> String {
    let mut out = String::new();
    for el in build(blocks) {
        html_element(&el, &mut out);
    }
    out
}

fn html_element(el: &Element, out: &mut String) {
    let children = |out: &mut String| {
        for child in &el.children {
            html_element(child, out);
        }
    };
    match &el.tag {
        Tag::Paragraph => {
            if !el.inlines.is_empty() {
                out.push_str(&format!("<p>{}</p>\n", html_inlines(&el.inlines)));
            }
            children(out);
        }
        Tag::Heading(level) => {
            let h = body_heading_level(*level);
            out.push_str(&format!("<h{h}>{}</h{h}>\n", html_inlines(&el.inlines)));
            children(out);
        }
        Tag::BulletList | Tag::NumberedList => {
            let tag = if el.tag == Tag::BulletList { "ul" } else { "ol" };
            out.push_str(&format!("<{tag}>\n"));
            children(out);
            out.push_str(&format!("</{tag}>\n"));
        }
        Tag::ListItem => {
            out.push_str("<li>");
            out.push_str(&html_inlines(&el.inlines));
            if !el.children.is_empty() {
                out.push('\n');
            }
            children(out);
            out.push_str("</li>\n");
        }
        Tag::Blockquote | Tag::Aside | Tag::Other(_) => {
            let tag = match el.tag {
                Tag::Blockquote => "blockquote",
                Tag::Aside => "aside",
                _ => "div",
            };
            out.push_str(&format!("<{tag}>\n"));
            if !el.inlines.is_empty() {
                out.push_str(&format!("<p>{}</p>\n", html_inlines(&el.inlines)));
            }
            children(out);
            out.push_str(&format!("</{tag}>\n"));
        }
        Tag::CodeBlock => {
            let text: String = el.inlines.iter().map(|i| i.text.as_str()).collect();
            out.push_str(&format!("<pre><code>{}</code></pre>\n", html_escape(&text)));
        }
        Tag::Image { src, alt } => {
            if safe_url(src) {
                out.push_str(&format!("<p><img src=\"{}\" alt=\"{}\"/></p>\n", html_escape(src.trim()), html_escape(alt)));
            } else if !alt.is_empty() {
                out.push_str(&format!("<p>{}</p>\n", html_escape(alt)));
            }
        }
    }
}

fn html_inlines(inlines: &[Inline]) -> String {
    let mut out = String::new();
    for inline in inlines {
        let mut text = html_escape(&inline.text).replace('\n', "<br/>");
        if inline.marks.em {
            text = format!("<em>{text}</em>");
        }
        if inline.marks.strong {
            text = format!("<strong>{text}</strong>");
        }
        if let Some(link) = inline.marks.link.as_ref().filter(|l| safe_url(&l.href)) {
            let title = link.title.as_ref().map(|t| format!(" title=\"{}\"", html_escape(t))).unwrap_or_default();
            text = format!("<a href=\"{}\"{title}>{text}</a>", html_escape(link.href.trim()));
        }
        out.push_str(&text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rich::{BlockType, Marks};
    use proptest::prelude::*;
    use pulldown_cmark::{Event, Parser, Tag as MdTag, TagEnd};

    fn sample() -> Export {
        Export {
            title: "Estrategia <2030> & más".into(),
            locale: Locale::Es,
            version: Some(ExportVersion {
                name: "Aprobada por el Alcalde".into(),
                created_at: "2026-11-20".into(),
                approved_at: Some("2026-11-21".into()),
            }),
            exported_at: "2026-11-29".into(),
            sections: vec![
                ExportSection {
                    stage: Stage::DesignPlanning,
                    title: "Voluntad política".into(),
                    area: Some("Relaciones Internacionales".into()),
                    blocks: vec![
                        Block::heading(1, "Compromisos"),
                        Block::new(
                            BlockType::Paragraph,
                            vec![
                                Inline::plain("El "),
                                Inline::strong("Alcalde"),
                                Inline::plain(" firma la "),
                                Inline::link("Agenda", "https://example.org/a b"),
                                Inline::plain(" <script>alert(1)</script>"),
                            ],
                        ),
                        Block::bullet(0, vec![Inline::plain("uno")]),
                        Block::bullet(1, vec![Inline::em("uno.a")]),
                        Block::numbered(vec![Inline::plain("primero")]),
                        Block::new(BlockType::Paragraph, vec![Inline::link("malo", "javascript:alert(1)")]),
                    ],
                },
                ExportSection { stage: Stage::Evaluation, title: "¿Para qué medir?".into(), area: None, blocks: vec![] },
            ],
        }
    }

    #[test]
    fn markdown_of_a_strategy() {
        let md = to_markdown(&sample());
        assert!(md.starts_with("# Estrategia \\<2030\\> \\& más\n"), "{md}");
        assert!(md.contains("## Diseño y planeación\n"));
        assert!(md.contains("### Voluntad política\n"));
        assert!(md.contains("*Área responsable: Relaciones Internacionales*"));
        assert!(md.contains("#### Compromisos\n"), "body headings move down: {md}");
        assert!(md.contains("El **Alcalde** firma la [Agenda](<https://example.org/a b>)"), "{md}");
        assert!(md.contains("- uno\n  - *uno.a*\n"), "{md}");
        assert!(md.contains("1. primero"));
        assert!(!md.contains("javascript:"), "unsafe links are dropped: {md}");
        assert!(md.contains("(Sin contenido todavía)"));
        assert!(md.contains("Versión «Aprobada por el Alcalde», creada el 2026-11-20, aprobada el 2026-11-21"));
    }

    #[test]
    fn html_of_a_strategy_is_escaped_and_printable() {
        let html = to_html(&sample());
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"es\">"));
        assert!(html.contains("<title>Estrategia &lt;2030&gt; &amp; más</title>"));
        assert!(html.contains("@media print"));
        assert!(html.contains("<h4>Compromisos</h4>"));
        assert!(html.contains("El <strong>Alcalde</strong> firma la <a href=\"https://example.org/a b\">Agenda</a>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("javascript:"));
        assert!(html.contains("<ul>\n<li>uno\n<ul>\n<li><em>uno.a</em></li>\n</ul>\n</li>\n</ul>\n"), "{html}");
        assert!(html.contains("<ol>\n<li>primero</li>\n</ol>\n"));
        assert_eq!(html.matches("<section class=\"stage\">").count(), 2);
        assert_eq!(html.matches("</section>").count(), 2);
    }

    #[test]
    fn urls() {
        assert!(safe_url("https://a.org/x"));
        assert!(safe_url("mailto:ori@city.org"));
        assert!(safe_url("/relative/path"));
        assert!(safe_url("#frag"));
        assert!(safe_url("a/b:c"));
        assert!(!safe_url("javascript:alert(1)"));
        assert!(!safe_url(" JaVaScRiPt:alert(1)"));
        assert!(!safe_url("data:text/html,x"));
        assert!(!safe_url("java\nscript:x"));
        assert!(!safe_url(""));
    }

    /// Per character of the rendered text: (char, strong, em).
    fn parsed_runs(md: &str) -> Vec<(char, bool, bool)> {
        let (mut strong, mut em) = (0, 0);
        let mut out = Vec::new();
        let mut html_strong = false;
        let mut html_em = false;
        for event in Parser::new(md) {
            match event {
                Event::Start(MdTag::Strong) => strong += 1,
                Event::End(TagEnd::Strong) => strong -= 1,
                Event::Start(MdTag::Emphasis) => em += 1,
                Event::End(TagEnd::Emphasis) => em -= 1,
                Event::InlineHtml(tag) => match tag.as_ref() {
                    "<strong>" => html_strong = true,
                    "</strong>" => html_strong = false,
                    "<em>" => html_em = true,
                    "</em>" => html_em = false,
                    other => panic!("unexpected inline HTML {other:?} in {md:?}"),
                },
                Event::Text(t) => out.extend(t.chars().map(|c| (c, strong > 0 || html_strong, em > 0 || html_em))),
                Event::SoftBreak | Event::HardBreak => out.push((' ', false, false)),
                Event::Start(MdTag::Paragraph) | Event::End(TagEnd::Paragraph) => {}
                Event::Start(MdTag::Link { .. }) | Event::End(TagEnd::Link) => {}
                other => panic!("unexpected {other:?} in {md:?}"),
            }
        }
        out
    }

    fn expected_runs(inlines: &[Inline]) -> Vec<(char, bool, bool)> {
        inlines
            .iter()
            .flat_map(|i| i.text.chars().map(move |c| (c, i.marks.strong, i.marks.em)))
            .collect()
    }

    /// Whitespace is not significant in Markdown (runs collapse, lines are trimmed), and a
    /// space carries no formatting: compare the rest.
    fn normalise(runs: Vec<(char, bool, bool)>) -> Vec<(char, bool, bool)> {
        let mut out: Vec<(char, bool, bool)> = Vec::new();
        for (c, s, e) in runs {
            if c.is_whitespace() {
                if out.last().is_some_and(|l| l.0 != ' ') {
                    out.push((' ', false, false));
                }
            } else {
                out.push((c, s, e));
            }
        }
        while out.last().is_some_and(|l| l.0 == ' ') {
            out.pop();
        }
        out
    }

    fn inline_strategy() -> impl Strategy<Value = Inline> {
        let text = proptest::string::string_regex("[a-zA-Zñé0-9 *_\\[\\]()#<>&!.,¿?\\-+=`~|\\\\]{1,8}").unwrap();
        (text, any::<bool>(), any::<bool>(), proptest::option::of(Just("https://example.org/x".to_owned())))
            .prop_map(|(text, strong, em, href)| Inline {
                text,
                marks: Marks { strong, em, link: href.map(|href| Link { href, title: None }) },
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Markdown keeps every character and its bold/italic, whatever the text holds.
        #[test]
        fn markdown_paragraphs_parse_back_to_the_same_text_and_formatting(
            inlines in proptest::collection::vec(inline_strategy(), 1..6)
        ) {
            let md = blocks_to_markdown(&[Block::new(BlockType::Paragraph, inlines.clone())]);
            let got = normalise(parsed_runs(&md));
            let want = normalise(expected_runs(&inlines));
            prop_assert_eq!(got, want, "markdown: {:?}", md);
        }

        /// HTML never lets user text open a tag.
        #[test]
        fn html_text_is_inert(inlines in proptest::collection::vec(inline_strategy(), 1..6)) {
            let html = blocks_to_html(&[Block::new(BlockType::Paragraph, inlines.clone())]);
            let stripped = html
                .replace("<p>", "").replace("</p>", "")
                .replace("<strong>", "").replace("</strong>", "")
                .replace("<em>", "").replace("</em>", "")
                .replace("<a href=\"https://example.org/x\">", "").replace("</a>", "");
            prop_assert!(!stripped.contains(['<', '>']), "{}", html);
        }
    }
}
