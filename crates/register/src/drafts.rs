//! Drafts a data-protection officer completes after a breach scope: the
//! report to the ICO (UK GDPR Art. 33) and a notice to each person affected
//! (Art. 34). What the log can state is filled in; what only people can
//! write is left as marked fields. The CLI writes them to files and the
//! console offers them for download; both from here.

use lanyard_core::Compartment;

use crate::{Exposure, ScopeReport};

fn date_time(unix_s: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix_s)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| unix_s.to_string())
}

fn plain(name: &str) -> String {
    name.replace('_', " ")
}

/// A draft notice to one person under UK GDPR Art. 34: what the log shows
/// about their data, with the parts only people can write left marked.
pub fn art34_notice(x: &Exposure, addressee: Option<&str>, checkpoint: &str) -> String {
    let page = maud::html! {
        (maud::DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Notice of a personal data breach (draft)" }
                style { "body{font-family:sans-serif;max-width:45em;margin:2em auto}.todo{background:#fff3b0}" }
            }
            body {
                p { "Reference: " code { (x.person) } }
                @match addressee {
                    Some(name) => p { "Dear " (name) "," },
                    None => p.todo { "Addressee withheld (protected person or erased record): route through the protected-persons officer." },
                }
                p { "We are writing to tell you about a breach of security affecting personal data we hold about you in the force's ID-card register." }
                h2 { "What happened" }
                p.todo { "Narrative: to complete." }
                p { "Our audit log shows that your data was accessed between "
                    (date_time(x.first_ms / 1000)) " and " (date_time(x.last_ms / 1000))
                    " (" (x.reads) " recorded access" @if x.reads != 1 { "es" } ")." }
                h2 { "What data of yours was involved" }
                ul {
                    @for c in &x.compartments {
                        li {
                            strong { (c.as_str()) } ": "
                            (x.fields.iter().filter(|f| f.compartment() == *c).map(|f| plain(f.as_str())).collect::<Vec<_>>().join(", "))
                        }
                    }
                }
                h2 { "Likely consequences" }
                ul { @for c in &x.compartments { li { (consequence(*c)) } } }
                h2 { "What we have done and what you can do" }
                p.todo { "Measures taken, advice (e.g. on personal security and fraud), and support offered: to complete." }
                h2 { "Contact" }
                p.todo { "Data protection officer's name and contact details: to complete." }
                h2 { "Evidence" }
                p { "This notice was prepared from the register's tamper-evident audit log, complete up to this signed checkpoint:" }
                pre { (checkpoint) }
            }
        }
    };
    page.into_string()
}

fn consequence(c: Compartment) -> &'static str {
    match c {
        Compartment::Identity => {
            "Names, ranks, units and service numbers of police officers and staff can be used to locate, \
             target or impersonate them; for officers in sensitive roles the risk to safety is serious."
        }
        Compartment::Photo => "Photographs allow officers and staff to be recognised, including off duty.",
        Compartment::Vetting => {
            "Vetting levels show who holds security clearances, which helps anyone seeking to target or \
             approach them."
        }
        Compartment::Pay => {
            "Salary and pay grade expose financial circumstances and can be used for fraud or pressure."
        }
    }
}

/// A draft for the ICO (UK GDPR Art. 33): what the log can state is filled
/// in; what only people can write is left as marked fields. Names nobody.
pub fn art33_report(r: &ScopeReport) -> String {
    let window = |ms: Option<i64>| ms.map(|m| date_time(m / 1000)).unwrap_or_else(|| "—".into());
    let first = r.people.iter().map(|x| x.first_ms).min();
    let last = r.people.iter().map(|x| x.last_ms).max();
    let page = maud::html! {
        (maud::DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Personal data breach report (draft)" }
                style { "body{font-family:sans-serif;max-width:50em;margin:2em auto}td,th{border:1px solid #999;padding:.3em}table{border-collapse:collapse}.todo{background:#fff3b0}" }
            }
            body {
                h1 { "Personal data breach report — draft under UK GDPR Article 33" }
                p { "Prepared by lanyard from its tamper-evident audit log. Sections marked " span.todo { "to complete" } " need a person." }
                h2 { "1. Contact point" }
                p.todo { "Name and contact details of the data protection officer or other contact point: to complete." }
                h2 { "2. Nature of the breach" }
                table {
                    tr { th { "Actor(s) in scope" } td { @if r.actors.is_empty() { "none found" } @else { (r.actors.iter().cloned().collect::<Vec<_>>().join(", ")) } } }
                    tr { th { "Window asked" } td { (window(r.query.from_ms)) " to " (window(r.query.to_ms)) } }
                    tr { th { "First and last access found" } td { (window(first)) " to " (window(last)) } }
                    tr { th { "Audited accesses" } td { (r.events_matched) } }
                    tr { th { "Evidence" } td { "Audit log checkpoint of " (r.tree_size) " events (signed); the answer is complete up to it." } }
                }
                p.todo { "Narrative: how the breach happened and was discovered: to complete." }
                h2 { "3. Categories and approximate numbers" }
                p { "Data subjects: police officers and staff. Number affected: " strong { (r.people.len()) } "." }
                table {
                    tr { th { "Category of personal data" } th { "People affected" } }
                    @for (c, n) in &r.people_per_compartment {
                        tr { td { (c.as_str()) } td { (n) } }
                    }
                }
                h2 { "4. Likely consequences" }
                ul {
                    @for c in r.people_per_compartment.keys() {
                        li { (consequence(*c)) }
                    }
                }
                h2 { "5. Measures taken or proposed" }
                p.todo { "Containment (credentials revoked, supplier access stopped), notification of affected people (Art. 34), and steps to prevent recurrence: to complete." }
                h2 { "Signed checkpoint" }
                pre { (r.checkpoint) }
            }
        }
    };
    page.into_string()
}
