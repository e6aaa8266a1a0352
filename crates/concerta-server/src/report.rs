//! The response report of a consultation (`GET /api/consultations/{id}/report` and, once it
//! closed, `GET /public/{city_slug}/consultations/{id}`): every comment with its
//! organisation, sector, decision, reason and resulting change; participation figures by
//! sector, by section and by decision. Markdown, CSV, HTML and JSON are rendered here from one
//! [`Report`], so the formats say the same thing.
//!
//! Invariants: every figure table sums to [`Figures::comments`] (each thread counts once in
//! each table); no person's name or address is in it (organisations and sectors only);
//! every user-supplied text is escaped for the format: HTML-escaped in HTML, table pipes and
//! line breaks neutralised in Markdown, and CSV cells that a spreadsheet would run (`=`, `+`,
//! `-`, `@`, tab, CR) prefixed with `'`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use concerta_content::export::html_escape;
use concerta_core::{CommentId, Decision, Locale, SectionId, Sector};
use concerta_evaluation::csv_io::{guard, write};
use serde::Serialize;

/// One comment (a thread's first comment) of the report.
#[derive(Clone, Debug, Serialize)]
pub struct ReportRow {
    /// The comment.
    pub id: CommentId,
    /// Its section.
    pub section_id: SectionId,
    /// The section's title.
    pub section: String,
    /// The organisation (`None`: the city's own staff).
    pub organization: Option<String>,
    /// Its sector.
    pub sector: Option<Sector>,
    /// The quoted passage.
    pub quote: Option<String>,
    /// Whether the passage has since been deleted from the draft.
    pub passage_removed: bool,
    /// The comment (empty when hidden).
    pub comment: String,
    /// Why it was hidden, when it was.
    pub hidden_reason: Option<String>,
    /// The suggested rewrite.
    pub suggestion: Option<String>,
    /// The city's decision.
    pub decision: Option<Decision>,
    /// Its reason.
    pub reason: Option<String>,
    /// The named version of the change.
    pub version: Option<String>,
    /// Whether the suggested rewrite was applied to the draft.
    pub applied: bool,
    /// Replies in its thread.
    pub replies: usize,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

impl ReportRow {
    /// What the row counts as in the decision table.
    pub fn outcome(&self) -> &'static str {
        if self.hidden_reason.is_some() {
            "hidden"
        } else {
            self.decision.map(Decision::as_str).unwrap_or("unanswered")
        }
    }
}

/// One line of a figures table.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Count {
    /// The key (a sector, a section id, a decision).
    pub key: String,
    /// Its label.
    pub label: String,
    /// Comments.
    pub count: usize,
}

/// Participation figures.
#[derive(Clone, Debug, Serialize)]
pub struct Figures {
    /// Threads (first comments), hidden ones included.
    pub comments: usize,
    /// Stakeholders invited.
    pub invited: usize,
    /// Organisations that commented.
    pub organizations: usize,
    /// Comments per sector (the city's own under `city`).
    pub by_sector: Vec<Count>,
    /// Comments per consulted section.
    pub by_section: Vec<Count>,
    /// Comments per outcome: the four decisions, `unanswered`, `hidden`.
    pub by_decision: Vec<Count>,
}

/// A consultation's report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The language of the labels.
    pub language: Locale,
    /// The city.
    pub city: String,
    /// The consultation's title.
    pub title: String,
    /// Its explanation.
    pub explanation: String,
    /// The strategy's title.
    pub strategy: String,
    /// The version consulted (`None`: the live draft).
    pub version: Option<String>,
    /// Opening.
    pub opens_at: DateTime<Utc>,
    /// Closing.
    pub closes_at: DateTime<Utc>,
    /// The city's IANA time zone, in which the period is written.
    pub timezone: String,
    /// `upcoming`, `open` or `closed` when made.
    pub status: String,
    /// The figures.
    pub figures: Figures,
    /// Every comment, in order.
    pub rows: Vec<ReportRow>,
}

// (key, es, en, pt)
#[rustfmt::skip]
const WORDS: &[(&str, &str, &str, &str)] = &[
    ("report", "Informe de respuestas", "Response report", "Relatório de respostas"),
    ("strategy", "Estrategia", "Strategy", "Estratégia"),
    ("version", "Versión consultada", "Version consulted", "Versão consultada"),
    ("live_draft", "borrador vivo", "live draft", "rascunho vivo"),
    ("period", "Período", "Period", "Período"),
    ("participation", "Participación", "Participation", "Participação"),
    ("comments", "Comentarios", "Comments", "Comentários"),
    ("invited", "Invitados", "Invited", "Convidados"),
    ("organizations", "Organizaciones que comentaron", "Organisations that commented", "Organizações que comentaram"),
    ("by_sector", "Por sector", "By sector", "Por setor"),
    ("by_section", "Por sección", "By section", "Por seção"),
    ("by_decision", "Por decisión", "By decision", "Por decisão"),
    ("total", "Total", "Total", "Total"),
    ("all_comments", "Todos los comentarios", "Every comment", "Todos os comentários"),
    ("section", "Sección", "Section", "Seção"),
    ("organization", "Organización", "Organisation", "Organização"),
    ("sector", "Sector", "Sector", "Setor"),
    ("passage", "Pasaje", "Passage", "Trecho"),
    ("passage_removed", "pasaje eliminado", "passage removed", "trecho removido"),
    ("comment", "Comentario", "Comment", "Comentário"),
    ("suggestion", "Redacción sugerida", "Suggested rewrite", "Redação sugerida"),
    ("decision", "Decisión", "Decision", "Decisão"),
    ("reason", "Razón", "Reason", "Razão"),
    ("change", "Cambio", "Change", "Alteração"),
    ("applied", "redacción aplicada", "rewrite applied", "redação aplicada"),
    ("replies", "Respuestas en el hilo", "Replies in the thread", "Respostas no fio"),
    ("hidden", "Oculto", "Hidden", "Oculto"),
    ("none", "Ninguno todavía.", "None yet.", "Nenhum ainda."),
    ("city", "La ciudad", "The city", "A cidade"),
    ("accepted", "Aceptado", "Accepted", "Aceito"),
    ("partly", "Aceptado en parte", "Partly accepted", "Aceito em parte"),
    ("rejected", "No aceptado", "Rejected", "Não aceito"),
    ("noted", "Tomado en cuenta", "Noted", "Registrado"),
    ("unanswered", "Sin respuesta", "Unanswered", "Sem resposta"),
    ("academia", "Academia", "Academia", "Academia"),
    ("business", "Empresas", "Business", "Empresas"),
    ("civil_society", "Sociedad civil", "Civil society", "Sociedade civil"),
    ("international_organization", "Organismos internacionales", "International organisations", "Organismos internacionais"),
    ("city_network", "Ciudades y redes", "Cities and networks", "Cidades e redes"),
    ("government", "Gobierno", "Government", "Governo"),
    ("other", "Otros", "Other", "Outros"),
    ("upcoming", "por abrir", "not open yet", "ainda não aberta"),
    ("open", "abierta", "open", "aberta"),
    ("closed", "cerrada", "closed", "encerrada"),
];

/// `key` in `lang` (the key itself when unknown).
pub fn word(lang: Locale, key: &str) -> String {
    WORDS
        .iter()
        .find(|(k, ..)| *k == key)
        .map(|(_, es, en, pt)| match lang {
            Locale::Es => *es,
            Locale::En => *en,
            Locale::Pt => *pt,
        })
        .unwrap_or(key)
        .to_owned()
}

/// The figures of `rows`: each table counts every row once.
pub fn figures(lang: Locale, rows: &[ReportRow], sections: &[(SectionId, String)], invited: usize) -> Figures {
    let mut by_sector: BTreeMap<usize, Count> = BTreeMap::new();
    for row in rows {
        let (order, key) = match row.sector {
            Some(s) => (Sector::ALL.iter().position(|x| *x == s).unwrap_or_default(), s.as_str()),
            None => (Sector::ALL.len(), "city"),
        };
        by_sector.entry(order).or_insert_with(|| Count { key: key.to_owned(), label: word(lang, key), count: 0 }).count += 1;
    }
    let by_section = sections
        .iter()
        .map(|(id, title)| Count { key: id.to_string(), label: title.clone(), count: rows.iter().filter(|r| r.section_id == *id).count() })
        .collect();
    let outcomes = ["accepted", "partly", "rejected", "noted", "unanswered", "hidden"];
    let by_decision = outcomes
        .iter()
        .map(|k| Count { key: (*k).to_owned(), label: word(lang, k), count: rows.iter().filter(|r| r.outcome() == *k).count() })
        .collect();
    let mut organizations: Vec<&str> = rows.iter().filter_map(|r| r.organization.as_deref()).collect();
    organizations.sort_unstable();
    organizations.dedup();
    Figures {
        comments: rows.len(),
        invited,
        organizations: organizations.len(),
        by_sector: by_sector.into_values().collect(),
        by_section,
        by_decision,
    }
}

fn sector_label(lang: Locale, sector: Option<Sector>) -> String {
    word(lang, sector.map(Sector::as_str).unwrap_or("city"))
}

fn organization_label(lang: Locale, row: &ReportRow) -> String {
    row.organization.clone().unwrap_or_else(|| word(lang, "city"))
}

fn change_text(lang: Locale, row: &ReportRow) -> String {
    let mut parts = Vec::new();
    if row.applied {
        parts.push(word(lang, "applied"));
    }
    if let Some(v) = &row.version {
        parts.push(v.clone());
    }
    parts.join(", ")
}

fn comment_text(lang: Locale, row: &ReportRow) -> String {
    match &row.hidden_reason {
        Some(reason) => format!("[{}: {}]", word(lang, "hidden"), reason),
        None => row.comment.clone(),
    }
}

fn quote_text(lang: Locale, row: &ReportRow) -> String {
    match &row.quote {
        Some(q) if row.passage_removed => format!("{q} ({})", word(lang, "passage_removed")),
        Some(q) => q.clone(),
        None => String::new(),
    }
}

fn period(r: &Report) -> String {
    format!("{} – {} ({})", concerta_store::zoned_time(r.opens_at, &r.timezone), concerta_store::zoned_time(r.closes_at, &r.timezone), word(r.language, &r.status))
}

/// Markdown-safe inline text: no table breaks, no line breaks, markup characters escaped.
fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn md_table(out: &mut String, head: &[String], rows: &[Vec<String>]) {
    out.push_str(&format!("| {} |\n", head.join(" | ")));
    out.push_str(&format!("|{}\n", "---|".repeat(head.len())));
    for row in rows {
        out.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    out.push('\n');
}

fn count_rows(counts: &[Count], total: usize, lang: Locale) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = counts.iter().map(|c| vec![md(&c.label), c.count.to_string()]).collect();
    rows.push(vec![format!("**{}**", word(lang, "total")), format!("**{total}**")]);
    rows
}

/// The report as Markdown.
pub fn to_markdown(r: &Report) -> String {
    let l = r.language;
    let w = |k: &str| word(l, k);
    let mut out = format!("# {}: {}\n\n", w("report"), md(&r.title));
    out.push_str(&format!("- {}: {}\n", w("strategy"), md(&r.strategy)));
    out.push_str(&format!("- {}: {}\n", w("version"), md(r.version.as_deref().unwrap_or(&w("live_draft")))));
    out.push_str(&format!("- {}: {}\n\n", w("period"), period(r)));
    if !r.explanation.is_empty() {
        out.push_str(&format!("{}\n\n", md(&r.explanation)));
    }
    let f = &r.figures;
    out.push_str(&format!("## {}\n\n", w("participation")));
    out.push_str(&format!("- {}: {}\n- {}: {}\n- {}: {}\n\n", w("invited"), f.invited, w("organizations"), f.organizations, w("comments"), f.comments));
    for (key, counts) in [("by_sector", &f.by_sector), ("by_section", &f.by_section), ("by_decision", &f.by_decision)] {
        out.push_str(&format!("### {}\n\n", w(key)));
        md_table(&mut out, &[w(if key == "by_sector" { "sector" } else if key == "by_section" { "section" } else { "decision" }), w("comments")], &count_rows(counts, f.comments, l));
    }
    out.push_str(&format!("## {}\n\n", w("all_comments")));
    if r.rows.is_empty() {
        out.push_str(&format!("{}\n", w("none")));
        return out;
    }
    let head: Vec<String> =
        ["section", "organization", "sector", "passage", "comment", "suggestion", "decision", "reason", "change"].iter().map(|k| w(k)).collect();
    let rows: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row| {
            vec![
                md(&row.section),
                md(&organization_label(l, row)),
                md(&sector_label(l, row.sector)),
                md(&quote_text(l, row)),
                md(&comment_text(l, row)),
                md(row.suggestion.as_deref().unwrap_or_default()),
                md(&w(row.outcome())),
                md(row.reason.as_deref().unwrap_or_default()),
                md(&change_text(l, row)),
            ]
        })
        .collect();
    md_table(&mut out, &head, &rows);
    out
}

/// The columns of the CSV report (stable spellings, for scripts).
pub const CSV_COLUMNS: &[&str] = &[
    "comment_id",
    "section",
    "organization",
    "sector",
    "passage",
    "passage_removed",
    "comment",
    "hidden_reason",
    "suggestion",
    "decision",
    "reason",
    "version",
    "applied",
    "replies",
    "created_at",
];

/// The report as CSV: one row per comment, every text cell guarded against formulas.
pub fn to_csv(r: &Report) -> Vec<u8> {
    let rows = r.rows.iter().map(|row| {
        vec![
            row.id.to_string(),
            guard(&row.section),
            guard(row.organization.as_deref().unwrap_or("city")),
            row.sector.map(Sector::as_str).unwrap_or("city").to_owned(),
            guard(row.quote.as_deref().unwrap_or_default()),
            row.passage_removed.to_string(),
            guard(&row.comment),
            guard(row.hidden_reason.as_deref().unwrap_or_default()),
            guard(row.suggestion.as_deref().unwrap_or_default()),
            row.outcome().to_owned(),
            guard(row.reason.as_deref().unwrap_or_default()),
            guard(row.version.as_deref().unwrap_or_default()),
            row.applied.to_string(),
            row.replies.to_string(),
            row.created_at.to_rfc3339(),
        ]
    });
    write(CSV_COLUMNS, rows)
}

fn html_counts(out: &mut String, caption: &str, head: &str, counts: &[Count], total: usize, lang: Locale) {
    let e = html_escape;
    out.push_str(&format!(
        "<table><caption>{}</caption><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        e(caption),
        e(head),
        e(&word(lang, "comments"))
    ));
    for c in counts {
        out.push_str(&format!("<tr><th scope=\"row\">{}</th><td>{}</td></tr>", e(&c.label), c.count));
    }
    out.push_str(&format!(
        "</tbody><tfoot><tr><th scope=\"row\">{}</th><td>{total}</td></tr></tfoot></table>\n",
        e(&word(lang, "total"))
    ));
}

/// The report as a standalone, printable HTML page (every text escaped; styled by the public
/// page's stylesheet when it is served there).
pub fn to_html(r: &Report, stylesheet: Option<&str>) -> String {
    let l = r.language;
    let w = |k: &str| word(l, k);
    let e = html_escape;
    let mut out = format!(
        "<!doctype html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}: {}</title>",
        l.as_str(),
        e(&w("report")),
        e(&r.title)
    );
    if let Some(href) = stylesheet {
        out.push_str(&format!("<link rel=\"stylesheet\" href=\"{}\">", e(href)));
    }
    out.push_str("</head><body><main>\n");
    out.push_str(&format!("<h1>{}: {}</h1>\n<p>{}</p>\n", e(&w("report")), e(&r.title), e(&r.city)));
    out.push_str(&format!(
        "<dl><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd></dl>\n",
        e(&w("strategy")),
        e(&r.strategy),
        e(&w("version")),
        e(r.version.as_deref().unwrap_or(&w("live_draft"))),
        e(&w("period")),
        e(&period(r))
    ));
    if !r.explanation.is_empty() {
        out.push_str(&format!("<p>{}</p>\n", e(&r.explanation)));
    }
    let f = &r.figures;
    out.push_str(&format!("<h2>{}</h2>\n", e(&w("participation"))));
    out.push_str(&format!(
        "<ul><li>{}: {}</li><li>{}: {}</li><li>{}: {}</li></ul>\n",
        e(&w("invited")),
        f.invited,
        e(&w("organizations")),
        f.organizations,
        e(&w("comments")),
        f.comments
    ));
    html_counts(&mut out, &w("by_sector"), &w("sector"), &f.by_sector, f.comments, l);
    html_counts(&mut out, &w("by_section"), &w("section"), &f.by_section, f.comments, l);
    html_counts(&mut out, &w("by_decision"), &w("decision"), &f.by_decision, f.comments, l);
    out.push_str(&format!("<h2>{}</h2>\n", e(&w("all_comments"))));
    if r.rows.is_empty() {
        out.push_str(&format!("<p>{}</p>\n", e(&w("none"))));
    } else {
        out.push_str("<table class=\"comments\"><thead><tr>");
        for k in ["section", "organization", "sector", "passage", "comment", "suggestion", "decision", "reason", "change"] {
            out.push_str(&format!("<th scope=\"col\">{}</th>", e(&w(k))));
        }
        out.push_str("</tr></thead><tbody>\n");
        for row in &r.rows {
            out.push_str(&format!(
                "<tr id=\"c-{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                row.id,
                e(&row.section),
                e(&organization_label(l, row)),
                e(&sector_label(l, row.sector)),
                e(&quote_text(l, row)),
                e(&comment_text(l, row)),
                e(row.suggestion.as_deref().unwrap_or_default()),
                e(&w(row.outcome())),
                e(row.reason.as_deref().unwrap_or_default()),
                e(&change_text(l, row)),
            ));
        }
        out.push_str("</tbody></table>\n");
    }
    out.push_str("</main></body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(sector: Option<Sector>, section: SectionId, decision: Option<Decision>, hidden: bool, text: &str) -> ReportRow {
        ReportRow {
            id: CommentId::new(),
            section_id: section,
            section: "Sección <1>".to_owned(),
            organization: sector.map(|s| format!("Org {s}")),
            sector,
            quote: Some("=cita|".to_owned()),
            passage_removed: false,
            comment: text.to_owned(),
            hidden_reason: hidden.then(|| "abuso".to_owned()),
            suggestion: None,
            decision,
            reason: decision.map(|_| "porque".to_owned()),
            version: None,
            applied: false,
            replies: 0,
            created_at: Utc::now(),
        }
    }

    fn report(rows: Vec<ReportRow>, sections: &[(SectionId, String)]) -> Report {
        Report {
            language: Locale::Es,
            city: "Quito".to_owned(),
            title: "Consulta <b>".to_owned(),
            explanation: String::new(),
            strategy: "Estrategia".to_owned(),
            version: None,
            opens_at: Utc::now(),
            closes_at: Utc::now(),
            timezone: "America/Bogota".to_owned(),
            status: "closed".to_owned(),
            figures: figures(Locale::Es, &rows, sections, 7),
            rows,
        }
    }

    #[test]
    fn every_table_sums_to_the_comments() {
        let (a, b) = (SectionId::new(), SectionId::new());
        let rows = vec![
            row(Some(Sector::Academia), a, Some(Decision::Accepted), false, "uno"),
            row(Some(Sector::Academia), b, None, false, "dos"),
            row(Some(Sector::Business), a, Some(Decision::Rejected), false, "tres"),
            row(None, b, None, true, "cuatro"),
        ];
        let r = report(rows, &[(a, "A".to_owned()), (b, "B".to_owned())]);
        let f = &r.figures;
        assert_eq!(f.comments, 4);
        for table in [&f.by_sector, &f.by_section, &f.by_decision] {
            assert_eq!(table.iter().map(|c| c.count).sum::<usize>(), 4, "{table:?}");
        }
        assert_eq!(f.by_sector.iter().map(|c| (c.key.as_str(), c.count)).collect::<Vec<_>>(), [("academia", 2), ("business", 1), ("city", 1)]);
        assert_eq!(f.by_decision.iter().find(|c| c.key == "hidden").unwrap().count, 1);
        assert_eq!(f.organizations, 2);
    }

    #[test]
    fn texts_are_escaped_for_each_format() {
        let a = SectionId::new();
        let r = report(vec![row(Some(Sector::Other), a, None, false, "<script>alert(1)</script>\n| x |")], &[(a, "A".to_owned())]);
        let html = to_html(&r, None);
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("Consulta &lt;b&gt;"));
        let md = to_markdown(&r);
        assert!(md.contains("\\<script\\>alert(1)\\</script\\> \\| x \\|"), "{md}");
        let csv = String::from_utf8(to_csv(&r)).unwrap();
        assert!(csv.contains(",'=cita|,"), "{csv}");
        assert!(!csv.contains(",=cita"), "{csv}");
    }
}
