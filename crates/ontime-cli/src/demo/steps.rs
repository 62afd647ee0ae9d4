//! The tour's steps, in order: each makes its SDK calls through the facade and prints what
//! they did.

use std::time::Instant;

use chrono::TimeDelta;
use futures::TryStreamExt;
use ontime::types::Order;
use ontime::{
    Client, LocationFilter, OrderFilter, OrderId, PositionFilter, RetryPolicy, SignatureType,
    StatusChange, StatusLevel,
};
use serde_json::{Value, json};

use super::tour::*;
use crate::attachments::AttachmentInfo;
use crate::cells::{self, human_size};
use crate::error::CliError;
use crate::output::{render_records_with, render_table};
use crate::views::{self, Fmt, TIMELINE};

/// Step 1: a wrong key, the account's key, and a key scoped to one customer.
pub async fn authenticate(d: &mut Demo) -> Result<(), CliError> {
    let Demo {
        tour, client, mock, ..
    } = d;
    tour.step("Authenticate");
    tour.say(
        "OnTime takes the raw API key in the Authorization header. The client keeps it secret",
    );
    tour.say("(it never appears in logs or errors) and maps every refusal to a typed error.");
    tour.line("");
    let wrong = Client::builder()
        .base_url(mock.base_url())
        .api_key("not-the-right-key")
        .retry_policy(RetryPolicy::none())
        .build()?;
    let refused = wrong
        .orders()
        .ids(OrderFilter::new().tracking_number("1000001"))
        .await;
    match refused {
        Err(e) => tour.say(format!("A wrong key:\n  {e}")),
        Ok(_) => tour.say("A wrong key: accepted (unexpected)"),
    }
    let first = client
        .orders()
        .by_tracking_number("1000001")
        .await
        .map_err(|e| demo_error("authenticate", e))?
        .ok_or_else(|| CliError::other("the demo failed: order 1000001 is missing"))?;
    tour.say(format!(
        "The account's key:\n  accepted; order 1000001 is {}",
        first.status_level.clone().unwrap_or_default()
    ));
    let scoped = Client::builder()
        .base_url(mock.base_url())
        .api_key(mock.customer_key())
        .retry_policy(RetryPolicy::none())
        .build()?;
    let scoped_name = client
        .customers()
        .get(mock.scoped_customer().into())
        .await
        .ok()
        .and_then(|c| c.name)
        .unwrap_or_default();
    if let Some(id) = first.id
        && first.customer != Some(mock.scoped_customer().into())
    {
        match scoped.orders().get(id).await {
            Err(e) => tour.say(format!(
                "A key scoped to customer \"{scoped_name}\", reading another customer's order:\n  {e}"
            )),
            Ok(_) => tour.say("A scoped key read another customer's order (unexpected)"),
        }
    }
    tour.say(
        "(In scripts: `ontime` exits with 3 for a refused key and 4 for a missing permission.)",
    );
    Ok(())
}

/// Step 2: find orders by filters, fetched concurrently; returns the first one found.
pub async fn find_orders(d: &mut Demo) -> Result<Order, CliError> {
    let now = d.now;
    let Demo { tour, client, .. } = d;
    tour.step("Find orders by filters, fetched concurrently");
    let since = now.date().and_hms_opt(0, 0, 0).unwrap_or(now) - TimeDelta::days(7);
    tour.say(
        "OnTime's finders return only GUIDs; `find` makes the one finder call, then fetches the",
    );
    tour.say("records 8 at a time and yields them in order, as they arrive:");
    tour.line("");
    tour.code(&format!(
        "client.orders()\n    .find(OrderFilter::new().status(StatusLevel::Delivered).submitted_from({}))\n    .stream()",
        since.format("%Y-%m-%dT%H:%M:%S")
    ));
    let fetch_started = Instant::now();
    let filter = OrderFilter::new()
        .status(StatusLevel::Delivered)
        .submitted_from(at(since));
    let calls_before = client.quota().calls;
    let delivered: Vec<Order> = client
        .orders()
        .find(filter)
        .stream()
        .try_collect()
        .await
        .map_err(|e| demo_error("find orders", e))?;
    let calls = client.quota().calls - calls_before;
    let shown = delivered.len().min(8);
    tour.table(&render_records_with(&DEMO_ORDERS, &delivered[..shown]));
    tour.say(format!(
        "{} delivered orders since {} in {}: {} requests (1 finder + {} fetches){}.",
        delivered.len(),
        since.format("%Y-%m-%d"),
        duration(fetch_started.elapsed()),
        calls,
        calls.saturating_sub(1),
        if delivered.len() > shown {
            format!("; the first {shown} shown")
        } else {
            String::new()
        }
    ));
    tour.say(format!(
        "From a shell: ontime orders find --status delivered --submitted-from {}",
        since.format("%Y-%m-%d")
    ));
    delivered.first().cloned().ok_or_else(|| {
        CliError::other("the demo failed: no delivered orders in the last week (try more --orders)")
    })
}

/// Step 3: an order's status timeline and signature.
pub async fn timeline(d: &mut Demo, sample_id: OrderId, sample_tn: &str) -> Result<(), CliError> {
    let Demo { tour, client, .. } = d;
    tour.step(&format!("Order {sample_tn}: its status timeline"));
    tour.code("client.orders().timeline(order_id)");
    show_timeline(tour, client, sample_id).await?;
    if let Ok(Some(png)) = client
        .orders()
        .signature(sample_id, SignatureType::Delivery)
        .await
    {
        tour.say(format!(
            "Proof of delivery: the delivery signature is a {} PNG image\n(client.orders().signature(order_id, SignatureType::Delivery)).",
            human_size(png.len())
        ));
    }
    Ok(())
}

/// Step 4: change one field with `modify`, and show that nothing else changed.
pub async fn modify(
    d: &mut Demo,
    sample: &Order,
    sample_id: OrderId,
    sample_tn: &str,
) -> Result<(), CliError> {
    let Demo { tour, client, .. } = d;
    tour.step(&format!("Order {sample_tn}: change one field safely"));
    tour.say("A post to OnTime REPLACES the order: every field it leaves out is cleared. `modify`");
    tour.say("fetches the whole order, applies the change and posts all of it back:");
    tour.line("");
    tour.code(
        "client.orders().modify(order_id, |o| o.comments = Some(\"Leave at reception\".into()))",
    );
    let before = serde_json::to_value(sample).unwrap_or(Value::Null);
    let modified = client
        .orders()
        .modify(sample_id, |o| {
            o.comments = Some("Leave at reception".into())
        })
        .await
        .map_err(|e| demo_error("modify", e))?;
    let after = serde_json::to_value(&modified).unwrap_or(Value::Null);
    let show = |v: &Value, key: &str| {
        v.get(key)
            .filter(|v| !v.is_null())
            .map(cells::plain)
            .unwrap_or_else(|| "(none)".into())
    };
    let rows = vec![
        vec![
            "Comments".into(),
            show(&before, "Comments"),
            show(&after, "Comments"),
        ],
        vec![
            "Fields with a value".into(),
            fields_with_values(&before).to_string(),
            fields_with_values(&after).to_string(),
        ],
    ];
    let mut others = Vec::new();
    differences(&before, &after, String::new(), &mut others);
    others.retain(|path| path != "Comments");
    tour.table(&render_table(
        &[
            col("", &[], Fmt::Text, 20),
            col("Before", &[], Fmt::Text, 24),
            col("After", &[], Fmt::Text, 24),
        ],
        rows,
    ));
    if others.is_empty() {
        tour.say("Every other field came back unchanged. From a shell:");
    } else {
        tour.say(format!(
            "Also changed: {}. From a shell:",
            others.join(", ")
        ));
    }
    tour.say(format!(
        "ontime orders update -t {sample_tn} --set Comments=\"Leave at reception\""
    ));
    Ok(())
}

/// Step 5: price and create an order like `sample`, and move it along its statuses; returns
/// its ID and tracking number.
pub async fn create(d: &mut Demo, sample: &Order) -> Result<(OrderId, String), CliError> {
    let now = d.now;
    let Demo { tour, client, .. } = d;
    tour.step("Create an order and move it along");
    let dallas = client
        .locations()
        .find(LocationFilter::new().city("Dallas"))
        .stream()
        .try_collect::<Vec<_>>()
        .await
        .map_err(|e| demo_error("find locations", e))?;
    let (Some(pickup), Some(dropoff)) = (dallas.first(), dallas.get(1)) else {
        return Err(CliError::other(
            "the demo failed: fewer than two locations in Dallas",
        ));
    };
    let draft: Order = serde_json::from_value(json!({
        "Customer": sample.customer,
        "CollectionLocation": pickup,
        "DeliveryLocation": dropoff,
        "Description": "Lab samples (ontime demo)",
        "Weight": 4.5,
        "Quantity": 2,
        "PriceSet": sample.price_set,
        "RequestedBy": sample.requested_by,
    }))
    .map_err(CliError::internal)?;
    tour.say(format!(
        "A draft from {} to {}, both found with\nclient.locations().find(LocationFilter::new().city(\"Dallas\")):",
        pickup.company_name.as_deref().unwrap_or("?"),
        dropoff.company_name.as_deref().unwrap_or("?")
    ));
    tour.line("");
    tour.code("client.orders().total_cost(&draft)     // priced, not saved");
    let quote = client
        .orders()
        .total_cost(&draft)
        .await
        .map_err(|e| demo_error("price", e))?;
    tour.code(&format!("  = {quote:.2}"));
    tour.code("client.orders().save(draft)            // created");
    let created = client
        .orders()
        .save(draft)
        .await
        .map_err(|e| demo_error("create", e))?;
    let created_tn = created.tracking_number.clone().unwrap_or_default();
    let created_id = created.id.unwrap_or(OrderId::from_uuid(Default::default()));
    tour.code(&format!(
        "  = tracking number {created_tn} (assigned by OnTime), status {}",
        created.status_level.clone().unwrap_or_default()
    ));
    let moves = [
        (StatusLevel::Assigned, "Assigned", 5),
        (StatusLevel::AssignedInRoute, "In Transit", 22),
        (StatusLevel::Delivered, "Completed", 51),
    ];
    tour.code(&format!(
        "client.orders().update_status(\"{created_tn}\", StatusChange::new(level).label(..).at(..))  // x{}",
        moves.len()
    ));
    for (level, label, after_minutes) in moves {
        client
            .orders()
            .update_status(
                created_tn.as_str(),
                StatusChange::new(level)
                    .label(label)
                    .at(at(now + minutes(after_minutes))),
            )
            .await
            .map_err(|e| demo_error("update status", e))?;
    }
    show_timeline(tour, client, created_id).await?;
    Ok((created_id, created_tn))
}

/// Step 6: upload an attachment and download it again.
pub async fn attachments(
    d: &mut Demo,
    created_id: OrderId,
    created_tn: &str,
) -> Result<(), CliError> {
    let Demo { tour, client, .. } = d;
    tour.step(&format!(
        "Order {created_tn}: upload and download an attachment"
    ));
    let note = b"Delivered to reception at 15:21; signed by R. Thomas.\n";
    tour.code("client.orders().upload_attachment(order_id, \"delivery-note.txt\", bytes)");
    client
        .orders()
        .upload_attachment(created_id, "delivery-note.txt", note)
        .await
        .map_err(|e| demo_error("upload", e))?;
    tour.code("client.orders().attachments(order_id)   // listed and downloaded");
    let files = client
        .orders()
        .attachments(created_id)
        .await
        .map_err(|e| demo_error("download", e))?;
    let infos: Vec<AttachmentInfo> = files.iter().map(AttachmentInfo::of).collect();
    tour.table(&render_table(
        &[
            col("File name", &[], Fmt::Text, 30),
            col("Bytes", &[], Fmt::Num, 8),
            col("Attached", &[], Fmt::Text, 16),
        ],
        infos
            .iter()
            .map(|i| {
                vec![
                    i.file_name.clone().unwrap_or_default(),
                    i.size.to_string(),
                    i.timestamp
                        .as_deref()
                        .map(cells::short_date)
                        .unwrap_or_default(),
                ]
            })
            .collect(),
    ));
    let same = files.iter().any(|f| f.bytes == note[..]);
    tour.say(if same {
        "The downloaded bytes are identical to the uploaded ones."
    } else {
        "The downloaded bytes DIFFER from the uploaded ones."
    });
    Ok(())
}

/// Step 7: a driver's availability and positions.
pub async fn driver(d: &mut Demo) -> Result<(), CliError> {
    let now = d.now;
    let Demo { tour, client, .. } = d;
    tour.step("A driver: availability and positions");
    tour.code("client.users().find_all().collect_vec()   // the first driver");
    let users: Vec<ontime::types::User> = client
        .users()
        .find_all()
        .collect_vec()
        .await
        .map_err(|e| demo_error("find users", e))?;
    let Some(driver) = users.iter().find(|u| u.is_driver == Some(true)) else {
        return Err(CliError::other(
            "the demo failed: the account has no drivers",
        ));
    };
    let driver_id = driver
        .id
        .unwrap_or(ontime::UserId::from_uuid(Default::default()));
    let name = format!(
        "{} {}",
        driver.first_name.as_deref().unwrap_or(""),
        driver.last_name.as_deref().unwrap_or("")
    );
    tour.code("client.users().availability(user_id)");
    let availability = client
        .users()
        .availability(driver_id)
        .await
        .map_err(|e| demo_error("availability", e))?;
    tour.say(format!(
        "{} ({} drivers among {} users) is {}: {}, since {}.",
        name.trim(),
        users.iter().filter(|u| u.is_driver == Some(true)).count(),
        users.len(),
        if availability.is_available == Some(true) {
            "available"
        } else {
            "not available"
        },
        availability
            .current_status
            .as_deref()
            .unwrap_or("no status"),
        availability
            .last_status_change
            .map(|t| cells::short_date(&t.to_string()))
            .unwrap_or_default()
    ));
    let today = now.date().and_hms_opt(0, 0, 0).unwrap_or(now);
    tour.code(&format!(
        "client.users().positions(PositionFilter::new().user(user_id).from({}))",
        today.format("%Y-%m-%dT%H:%M:%S")
    ));
    let positions = client
        .users()
        .positions(PositionFilter::new().user(driver_id).from(at(today)))
        .await
        .map_err(|e| demo_error("positions", e))?;
    let last = &positions[positions.len().saturating_sub(5)..];
    tour.table(&render_records_with(&DEMO_POSITIONS, last));
    tour.say(format!(
        "{} positions reported today; the last {} shown.",
        positions.len(),
        last.len()
    ));
    Ok(())
}

/// The requests made and the quota left.
pub fn summary(d: &mut Demo, started: Instant) {
    let Demo { tour, client, .. } = d;
    let quota = client.quota();
    tour.step("Requests and quota");
    let left = |remaining: Option<u64>, limit: Option<u64>| match (remaining, limit) {
        (Some(r), Some(l)) => format!("{} of {} left", thousands(r), thousands(l)),
        (Some(r), None) => format!("{} left", thousands(r)),
        _ => "not reported".into(),
    };
    tour.say(format!(
        "This client made {} requests (client.quota().calls). The server's quota headers say:",
        thousands(quota.calls)
    ));
    tour.say(format!(
        "today {}, this month {}.",
        left(quota.daily_remaining, quota.daily_limit),
        left(quota.monthly_remaining, quota.monthly_limit)
    ));
    tour.line("");
    tour.say(format!(
        "Tour finished in {}. Run `ontime demo --keep` to keep the simulator up and try",
        duration(started.elapsed())
    ));
    tour.say("the other commands against it (`ontime --help` lists them).");
}

/// Prints an order's status timeline as a table.
async fn show_timeline(tour: &mut Tour, client: &Client, id: OrderId) -> Result<(), CliError> {
    let timeline: Vec<views::TimelineEntry> = client
        .orders()
        .timeline(id)
        .await
        .map_err(|e| demo_error("timeline", e))?
        .into_iter()
        .map(views::TimelineEntry)
        .collect();
    tour.table(&render_records_with(&TIMELINE, &timeline));
    Ok(())
}
