//! `ontime orders update` (the generic `--set` editor of `edit.rs`, set up for orders) and
//! `ontime orders create`.

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::Args;
use ontime::OrderId;
use ontime::types::Order;

use super::{not_found, resolve};
use crate::args::{self, OrderArg};
use crate::context::Ctx;
use crate::edit::{self, Editor};
use crate::error::CliError;
use crate::views;

/// What `orders update --set` may change: every field of the spec's order but its ID and its
/// status (which has its own command, recorded in the timeline).
const EDITOR: Editor = Editor {
    view: &views::ORDER,
    refused: &[
        ("ID", "an order's ID cannot be changed"),
        (
            "StatusLevel",
            "StatusLevel is changed with `ontime orders status set`, which records the change in the order's timeline",
        ),
        (
            "Status",
            "Status is changed with `ontime orders status set`, which records the change in the order's timeline",
        ),
    ],
    fields_hint: "see the fields with `ontime orders get ORDER -o json`",
};

#[derive(Args, Debug)]
#[command(
    after_help = "FIELD is the API's field name (see `ontime orders get ORDER -o json`), any case;
embedded records take a dot: CollectionLocation.City=Boston. VALUE is JSON when it parses as
JSON for the field (numbers, true/false, null), text otherwise.

OnTime has no conditional update: a post replaces the stored order. So the order is read, changed,
and read again right before the post; if it moved in between (another update, a driver's status
change), the change is applied to the fresh copy, and after 3 reads that all moved nothing is posted
(exit 9). The status posted is the freshest read's. A change that lands between the last read and
the post (about one round trip) is still overwritten; when the answer shows the post set the status
back, the command exits 9 after saving the other fields, and the order's timeline needs a look.

Examples:
  ontime orders update -t 1009214 --set Comments=\"Leave at reception\"
  ontime orders update 44bc0a1d-ef24-49b5-a0cb-54181ce5dbcf --set Weight=12.5 --unset PurchaseOrderNumber"
)]
pub struct UpdateOrder {
    #[command(flatten)]
    pub order: OrderArg,
    /// Set FIELD to VALUE (repeatable)
    #[arg(long = "set", value_name = "FIELD=VALUE", value_parser = args::assignment)]
    pub set: Vec<(String, String)>,
    /// Clear FIELD (repeatable)
    #[arg(long = "unset", value_name = "FIELD")]
    pub unset: Vec<String>,
}

#[derive(Args, Debug)]
#[command(
    after_help = "The JSON is an order as the API writes it (see `ontime orders get ORDER -o json`).
Without TrackingNumber OnTime assigns one; without StatusLevel the order starts as submitted.
Without an ID (in the JSON or --id) the order is given a new random one before it is posted. If
the create fails after it was sent, the error names that ID: the order may have been stored, and
rerunning with --id ID updates it instead of creating a second order."
)]
pub struct CreateOrder {
    /// The order as JSON; `-` reads stdin
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub file: PathBuf,
    /// Allow the JSON's ID to name an existing order, which is then REPLACED: every field the
    /// JSON leaves out is cleared
    #[arg(long)]
    pub replace: bool,
    /// Create the order with this ID (instead of the JSON's, or a new random one). Rerunning a
    /// create that failed with the ID it printed replaces that order instead of adding another
    #[arg(long, value_name = "ID", value_parser = args::id::<OrderId>)]
    pub id: Option<OrderId>,
}

pub async fn update(ctx: &Ctx, args: UpdateOrder) -> Result<(), CliError> {
    let changes = EDITOR.changes(&args.set, &args.unset)?;
    // Check the values against an empty order first, so a bad value fails before any request.
    let draft = edit::apply(&edit::empty::<Order>()?, &changes).map_err(CliError::usage)?;
    EDITOR.check(&draft).map_err(CliError::usage)?;
    let client = ctx.client()?;
    let id = resolve(&client, &args.order).await?;
    // A change that does not fit the stored order is refused before anything is posted.
    let saved = client
        .orders()
        .try_modify(id, |order| {
            *order = edit::apply(order, &changes)?;
            Ok::<(), String>(())
        })
        .await
        .map_err(|e| match e {
            ontime::Error::ChangeRejected { source, .. } => {
                CliError::usage(format!("{source} (nothing was changed)"))
            }
            other => CliError::from(other).if_not_found(not_found(&args.order)),
        })?;
    ctx.output().one(&saved)
}

fn read_json(ctx: &Ctx, path: &Path) -> Result<String, CliError> {
    if path == Path::new("-") {
        if ctx.global.api_key_stdin {
            return Err(CliError::usage(
                "stdin cannot carry both the API key (--api-key-stdin) and the order (--file -)",
            )
            .with_hint("pass the key with --api-key-file or ONTIME_API_KEY"));
        }
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError::usage(format!("could not read stdin: {e}")))?;
        return Ok(text);
    }
    std::fs::read_to_string(path)
        .map_err(|e| CliError::usage(format!("could not read {}: {e}", path.display())))
}

pub fn parse_order(ctx: &Ctx, path: &Path) -> Result<Order, CliError> {
    let text = read_json(ctx, path)?;
    let order = serde_json::from_str::<Order>(&text)
        .map_err(|e| CliError::usage(format!("{} is not an order in JSON: {e}", path.display())))?;
    EDITOR.check(&order).map_err(|e| {
        CliError::usage(format!("{}: {e}", path.display()))
            .with_hint("see an order's fields with `ontime orders get ORDER -o json`")
    })?;
    Ok(order)
}

pub async fn create(ctx: &Ctx, args: CreateOrder) -> Result<(), CliError> {
    let mut order = parse_order(ctx, &args.file)?;
    if let Some(id) = args.id {
        if order.id.is_some_and(|own| own != id.as_uuid()) {
            return Err(CliError::usage(format!(
                "--id {id} differs from the ID in {}",
                args.file.display()
            )));
        }
        order.id = Some(id);
    }
    let client = ctx.client()?;
    // A rerun with --id after a failed create may find the order it stored: updating it is
    // what the rerun is for.
    let rerun = args.id.is_some();
    if let (Some(id), false, false) = (order.id, args.replace, rerun)
        && client.orders().try_get(id).await?.is_some()
    {
        return Err(CliError::usage(format!(
            "order {id} already exists: creating it again would replace it and clear every field the JSON leaves out"
        ))
        .with_hint("change fields with `ontime orders update`, or pass --replace to replace it"));
    }
    let saved = client.orders().save(order).await.map_err(|e| {
        let posted = e.posted_id().filter(|_| e.may_have_been_applied());
        let error = CliError::from(e);
        match posted {
            // The message says the order may have been stored as this ID.
            Some(id) => error.with_hint(format!(
                "the order may have been stored as {id}; rerun with --id {id}: it updates that order instead of creating another"
            )),
            None => error,
        }
    })?;
    ctx.output().one(&saved)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::edit::{Change, apply};

    fn changes(set: &[(&str, &str)], unset: &[&str]) -> Result<Vec<Change>, CliError> {
        let set: Vec<(String, String)> = set
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let unset: Vec<String> = unset.iter().map(|s| s.to_string()).collect();
        EDITOR.changes(&set, &unset)
    }

    #[test]
    fn updates_take_json_or_text_and_keep_other_fields() {
        let order: Order = serde_json::from_value(serde_json::json!({
            "TrackingNumber": "1001", "Comments": "old", "Weight": 1.0,
            "PurchaseOrderNumber": "PO-1", "Unknown": {"kept": true}
        }))
        .unwrap();
        let changes = changes(
            &[
                ("comments", "123"),
                ("Weight", "12.5"),
                ("CollectionLocation.City", "Boston"),
            ],
            &["PurchaseOrderNumber"],
        )
        .unwrap();
        let changed = apply(&order, &changes).unwrap();
        assert_eq!(changed.comments.as_deref(), Some("123"));
        assert_eq!(changed.weight, Some(12.5));
        assert_eq!(changed.purchase_order_number, None);
        assert_eq!(
            changed.collection_location.and_then(|l| l.city).as_deref(),
            Some("Boston")
        );
        assert_eq!(changed.tracking_number.as_deref(), Some("1001"));
        assert_eq!(changed.extra.get("Unknown"), order.extra.get("Unknown"));
        let err = apply(&order, &changes_of(&[("Weight", "heavy")])).unwrap_err();
        assert!(err.starts_with("Weight=heavy: "), "{err}");
    }

    fn changes_of(set: &[(&str, &str)]) -> Vec<Change> {
        changes(set, &[]).unwrap()
    }

    #[test]
    fn updates_refuse_unknown_fields_ids_and_statuses() {
        let err = changes(&[("Coments", "x")], &[]).unwrap_err();
        assert!(
            err.message.contains("did you mean Comments?"),
            "{}",
            err.message
        );
        assert!(changes(&[("ID", "x")], &[]).is_err());
        let err = changes(&[("StatusLevel", "3")], &[]).unwrap_err();
        assert!(err.message.contains("orders status set"));
        assert!(changes(&[], &[]).is_err());
    }
}
