//! `ontime orders cost`, `ontime orders report` and `ontime orders signature`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use ontime::{ReportKind, SignatureType};
use serde::Serialize;

use super::write::parse_order;
use super::{not_found, resolve};
use crate::args::{self, OrderArg};
use crate::context::Ctx;
use crate::download::{safe_name, write_download};
use crate::error::CliError;
use crate::views::{Fmt, View};

#[derive(Args, Debug)]
pub struct CostOrder {
    /// The order's ID, or its tracking number with -t
    #[arg(value_name = "ORDER", required_unless_present = "file", value_parser = args::non_blank)]
    pub order: Option<String>,
    /// Take ORDER as a tracking number
    #[arg(short = 't', long = "tracking-number")]
    pub by_tracking_number: bool,
    /// Price a draft order from this JSON file instead (`-` reads stdin)
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath, conflicts_with = "order")]
    pub file: Option<PathBuf>,
    /// Recalculate and store the order's prices, then show the stored total
    #[arg(long, conflicts_with = "file")]
    pub store: bool,
}

/// Report kinds by friendly name or API code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportArg {
    /// Shipping label (SL)
    #[value(name = "label", alias = "sl", alias = "shipping-label")]
    Label,
    /// Waybill (WB)
    #[value(name = "waybill", alias = "wb")]
    Waybill,
    /// Bill of lading (BOL)
    #[value(name = "bill-of-lading", alias = "bol")]
    BillOfLading,
}

impl ReportArg {
    fn kind(self) -> ReportKind {
        match self {
            ReportArg::Label => ReportKind::ShippingLabel,
            ReportArg::Waybill => ReportKind::Waybill,
            ReportArg::BillOfLading => ReportKind::BillOfLading,
        }
    }
}

#[derive(Args, Debug)]
pub struct ReportOrder {
    #[command(flatten)]
    pub order: OrderArg,
    /// Which report
    #[arg(long, value_enum, default_value_t = ReportArg::Label)]
    pub kind: ReportArg,
    /// Any other report code the account offers (instead of --kind)
    #[arg(long, value_name = "CODE", conflicts_with = "kind", value_parser = args::non_blank)]
    pub code: Option<String>,
    /// Where to write it; `-` writes to stdout [default: ORDER-CODE.pdf]
    #[arg(long, short = 'O', value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub out: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SignatureArg {
    /// Taken at pickup
    Collection,
    /// Taken at delivery
    Delivery,
}

#[derive(Args, Debug)]
pub struct SignatureOrder {
    #[command(flatten)]
    pub order: OrderArg,
    /// Which signature
    #[arg(long, value_enum, default_value_t = SignatureArg::Delivery)]
    pub which: SignatureArg,
    /// Where to write the image; `-` writes to stdout [default: ORDER-WHICH-signature.png]
    #[arg(long, short = 'O', value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub out: Option<PathBuf>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Cost {
    order: Option<String>,
    tracking_number: Option<String>,
    total_cost: f64,
    stored: bool,
}

static COST_VIEW: View = View {
    singular: "price",
    plural: "prices",
    fields: &[
        ("Order", Fmt::Id),
        ("TrackingNumber", Fmt::Text),
        ("TotalCost", Fmt::Money),
        ("Stored", Fmt::Bool),
    ],
    columns: &[],
};

pub async fn cost(ctx: &Ctx, args: CostOrder) -> Result<(), CliError> {
    if let Some(path) = &args.file {
        let draft = parse_order(ctx, path)?;
        let client = ctx.client()?;
        let total = client.orders().total_cost(&draft).await?;
        let result = Cost {
            order: draft.id.map(|id| id.to_string()),
            tracking_number: draft.tracking_number.clone(),
            total_cost: total,
            stored: false,
        };
        return ctx.output().one_with(&COST_VIEW, &result);
    }
    let arg = OrderArg {
        order: args.order.clone().unwrap_or_default(),
        by_tracking_number: args.by_tracking_number,
    };
    let client = ctx.client()?;
    let id = resolve(&client, &arg).await?;
    let orders = client.orders();
    let (order, total) = if args.store {
        orders
            .update_prices(id)
            .await
            .map_err(|e| CliError::from(e).if_not_found(not_found(&arg)))?;
        let order = orders
            .get(id)
            .await
            .map_err(|e| CliError::from(e).if_not_found(not_found(&arg)))?;
        let total = order.total_cost.unwrap_or_default();
        (order, total)
    } else {
        let order = orders
            .get(id)
            .await
            .map_err(|e| CliError::from(e).if_not_found(not_found(&arg)))?;
        let total = orders.total_cost(&order).await?;
        (order, total)
    };
    let result = Cost {
        order: Some(id.to_string()),
        tracking_number: order.tracking_number,
        total_cost: total,
        stored: args.store,
    };
    ctx.output().one_with(&COST_VIEW, &result)
}

/// What a download reports.
pub async fn report(ctx: &Ctx, args: ReportOrder) -> Result<(), CliError> {
    let client = ctx.client()?;
    let id = resolve(&client, &args.order).await?;
    let kind = match &args.code {
        Some(code) => ReportKind::Other(code.trim().to_string()),
        None => args.kind.kind(),
    };
    let document = client
        .orders()
        .report(id, kind.clone())
        .await
        .map_err(|e| CliError::from(e).if_not_found(not_found(&args.order)))?;
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from(safe_name(&format!(
            "{}-{}.pdf",
            args.order.order.trim(),
            kind.code()
        )))
    });
    write_download(ctx, &out, &document.bytes, document.content_type)
}

pub async fn signature(ctx: &Ctx, args: SignatureOrder) -> Result<(), CliError> {
    let order = args.order.to_ref()?;
    let client = ctx.client()?;
    let (which, word) = match args.which {
        SignatureArg::Collection => (SignatureType::Collection, "collection"),
        SignatureArg::Delivery => (SignatureType::Delivery, "delivery"),
    };
    // OnTime answers JSON null for an order without the signature; a 404 (a missing order, or
    // a server that reports a missing signature that way) keeps the server's message.
    let image = client
        .orders()
        .signature(order, which)
        .await
        .map_err(|e| {
            let server = e.server_message().map(str::to_string);
            CliError::from(e).if_not_found(|| {
                server.unwrap_or_else(|| {
                    format!(
                        "the {} has no {word} signature, or does not exist",
                        args.order.describe()
                    )
                })
            })
        })?
        .ok_or_else(|| {
            CliError::not_found(format!(
                "the {} has no {word} signature",
                args.order.describe()
            ))
        })?;
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from(safe_name(&format!(
            "{}-{word}-signature.png",
            args.order.order.trim()
        )))
    });
    write_download(ctx, &out, &image, Some("image/png".into()))
}
