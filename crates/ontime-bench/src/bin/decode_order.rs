//! Decoding an `Order` into the generated type (lenient date-times, TimeSpans, int-or-name enums,
//! unknown fields kept) against decoding the same bytes into `serde_json::Value`, in alternating
//! rounds. Goal: at most 1.3× the cost of `Value`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use ontime_bench::{info, report};
use ontime_raw::types::Order;

fn time<F: FnMut()>(iterations: u32, mut f: F) -> Duration {
    let started = Instant::now();
    for _ in 0..iterations {
        f();
    }
    started.elapsed() / iterations
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = ontime_bench::quick();
    // A realistic order as the simulator serves it, plus a field this library does not know.
    let mock = ontime_mock::OnTimeMock::builder()
        .seed(42)
        .orders(10)
        .start()
        .await?;
    let id = mock.store().order_ids()[0];
    let mut order = serde_json::to_value(mock.store().order(id).ok_or("no order")?)?;
    order["DriverNotesFromTheFuture"] = serde_json::json!({"unknown": [1, 2, 3]});
    let bytes = serde_json::to_vec(&order)?;
    mock.shutdown().await;

    let iterations = if quick { 2_000 } else { 20_000 };
    let (mut typed, mut value) = (Vec::new(), Vec::new());
    for _ in 0..if quick { 3 } else { 7 } {
        typed.push(time(iterations, || {
            black_box(serde_json::from_slice::<Order>(black_box(&bytes)).expect("decodes"));
        }));
        value.push(time(iterations, || {
            black_box(
                serde_json::from_slice::<serde_json::Value>(black_box(&bytes)).expect("decodes"),
            );
        }));
    }
    typed.sort();
    value.sort();
    let (typed, value) = (typed[typed.len() / 2], value[value.len() / 2]);
    info(
        "decode_order",
        &format!("order={}B typed={typed:?} value={value:?}", bytes.len()),
    );
    let ratio = typed.as_secs_f64() / value.as_secs_f64();
    report(
        "decode_order",
        "cost_vs_value",
        ratio,
        "<=1.3",
        ratio <= 1.3,
    );
    Ok(())
}
