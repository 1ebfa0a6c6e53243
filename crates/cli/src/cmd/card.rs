//! `lanyard card …` and `lanyard status-list export`: the card lifecycle
//! from the command line: signed in, through the server (`signed_in.rs`);
//! with `--local`, break-glass on the store, which never approves.

use anyhow::{Context, Result, anyhow};
use lanyard_cards::{Card, PersonRef};
use lanyard_core::{CardAction, CardState, CardType, PersonId, Reason};

use crate::config;
use crate::context;
use crate::opts::{CardCommand, Cli, SideArg, StatusListCommand};
use crate::output;

fn reason(text: &str) -> Result<Reason> {
    text.parse().map_err(|_| {
        let all: Vec<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        anyhow!("--reason: unknown reason (expected one of {})", all.join(", "))
    })
}

fn print_card(cli: &Cli, card: Card) -> Result<()> {
    if cli.json {
        return output::json(&card);
    }
    println!("card {}  {}  {}", card.id, card.card_type, card.state);
    println!("  number      {}", card.number);
    println!("  person      {}", card.person);
    println!("  requested   by {}", card.requested_by);
    if let Some(a) = &card.approved_by {
        println!("  approved    by {a}");
    }
    if let (Some(from), Some(to)) = (card.valid_from, card.expires_at) {
        println!("  valid       {} to {}", output::date_time(from), output::date_time(to));
    }
    if let Some(s) = &card.supersedes {
        println!("  replaces    {s}");
    }
    if let Some(r) = &card.reason {
        println!("  reason      {r}");
    }
    Ok(())
}

pub async fn run(cli: &Cli, cmd: &CardCommand) -> Result<()> {
    let settings = config::load(&cli.data_dir, cli.database_url.as_deref())?;
    let (_register, cards) = context::open_cards(&settings).await?;
    let op = context::break_glass(false);
    let now = context::now_ms();
    let step = |card: &str, action: CardAction, why: Option<Reason>| {
        let (cards, op, card) = (cards.clone(), op.clone(), card.to_owned());
        async move { cards.transition(&op, &card, action, why, now).await }
    };
    let row = match cmd {
        CardCommand::Request { person, card_type } => {
            let card_type: CardType = card_type.parse()?;
            let who = match person.parse::<PersonId>() {
                Ok(id) => PersonRef::Id(id),
                Err(_) => PersonRef::ServiceNumber(person),
            };
            cards.request(&op, who, card_type, now).await?
        }
        CardCommand::Approve { card } => step(card, CardAction::Approve, None).await?,
        CardCommand::Reject { card, reason: r } => step(card, CardAction::Reject, Some(reason(r)?)).await?,
        CardCommand::Print { card } => step(card, CardAction::Print, None).await?,
        CardCommand::Issue { card } => step(card, CardAction::Issue, None).await?,
        CardCommand::Suspend { card, reason: r } => step(card, CardAction::Suspend, Some(reason(r)?)).await?,
        CardCommand::Resume { card } => step(card, CardAction::Resume, None).await?,
        CardCommand::Revoke { card, reason: r } => step(card, CardAction::Revoke, Some(reason(r)?)).await?,
        CardCommand::Destroy { card } => step(card, CardAction::Destroy, None).await?,
        CardCommand::Reissue { card, reason: r } => {
            let (old, new) = cards.reissue(&op, card, reason(r)?, now).await?;
            if cli.json {
                return output::json(&serde_json::json!({ "revoked": old, "requested": new }));
            }
            println!("card {} is {}; replacement {} requested (needs approval)", old.id, old.state, new.id);
            return Ok(());
        }
        CardCommand::Show { card } => cards.card(card, now).await?,
        CardCommand::List { person, state } => {
            let person = person.as_deref().map(str::parse::<PersonId>).transpose()?;
            let state = state
                .as_deref()
                .map(|s| s.parse::<CardState>().map_err(|_| anyhow!("--state: unknown card state")))
                .transpose()?;
            let list: Vec<Card> = cards.list(person, state, now).await?;
            if cli.json {
                return output::json(&list);
            }
            for c in list {
                println!("{}  {:<16} {:<10} {}  {}", c.id, c.card_type, c.state, c.number, c.person);
            }
            return Ok(());
        }
        CardCommand::Render { card, out, side, purpose } => {
            let written = render(&cards, &op, card, out, *side, purpose, now).await?;
            if cli.json {
                return output::json(&serde_json::json!({ "files": written }));
            }
            for path in written {
                println!("{}", path.display());
            }
            return Ok(());
        }
        CardCommand::Qr { card, purpose } => {
            let credential = cards.credential(&op, card, Some(purpose), now).await?;
            if cli.json {
                return output::json(&serde_json::json!({ "qr": credential.qr_text, "claims": credential.claims }));
            }
            println!("{}", credential.qr_text);
            return Ok(());
        }
    };
    print_card(cli, row)
}

/// Renders a card to `out`; returns the files written.
pub(crate) async fn render(
    cards: &lanyard_cards::Cards,
    op: &lanyard_register::Operator,
    card: &str,
    out: &std::path::Path,
    side: SideArg,
    purpose: &str,
    now: i64,
) -> Result<Vec<std::path::PathBuf>> {
    use lanyard_render::{FileMeta, Renderer, Side};
    let ext = out.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    if !matches!(ext.as_deref(), Some("png" | "pdf")) {
        anyhow::bail!("--out: give a .png or .pdf file name");
    }
    let row = cards.card(card, now).await?;
    let printable = cards.printable(op, card, Some(purpose), now).await?;
    let print = lanyard_supply::CardPrint::new(&row, printable, cards.config());
    let face = print.face();
    let sides: &[Side] = match side {
        SideArg::Front => &[Side::Front],
        SideArg::Back => &[Side::Back],
        SideArg::Both => &[Side::Front, Side::Back],
    };
    let renderer = Renderer::new();
    let meta = FileMeta::default();
    let mut written = Vec::new();
    if ext.as_deref() == Some("pdf") {
        std::fs::write(out, renderer.pdf(&face, sides, meta)?).with_context(|| format!("writing {}", out.display()))?;
        written.push(out.to_owned());
    } else {
        for s in sides {
            let path = if sides.len() == 1 {
                out.to_owned()
            } else {
                let stem = out.file_stem().and_then(|s| s.to_str()).unwrap_or("card");
                out.with_file_name(format!("{stem}-{}.png", s.as_str()))
            };
            std::fs::write(&path, renderer.png(&face, *s, meta)?)
                .with_context(|| format!("writing {}", path.display()))?;
            written.push(path);
        }
    }
    Ok(written)
}

pub async fn status_list(cli: &Cli, cmd: &StatusListCommand) -> Result<()> {
    let StatusListCommand::Export { out } = cmd;
    let settings = config::load(&cli.data_dir, cli.database_url.as_deref())?;
    let (_register, cards) = context::open_cards(&settings).await?;
    let op = context::host();
    let bytes = cards.status_list(&op, context::now_ms()).await?;
    std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    if cli.json {
        return output::json(&serde_json::json!({ "out": out, "bytes": bytes.len() }));
    }
    println!("status list written to {} ({} bytes)", out.display(), bytes.len());
    Ok(())
}
