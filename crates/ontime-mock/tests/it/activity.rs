//! The living account (`ontime-mock --activity`): determinism, lifecycles as the API shows
//! them against the ground truth, drivers' availability and positions, workflow notifications,
//! and running mode with a fast clock.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};
use ontime_mock::{
    Activity, ActivityConfig, ActivityError, Change, MockBuilder, NotifyConfig, NotifyTemplate,
    RunningMock, Step, TruthChange,
};
use ontime_raw::lenient::OnTimeDateTime;
use uuid::Uuid;

use crate::common;

/// A frozen-clock mock with an activity (step mode).
async fn stepped(config: ActivityConfig) -> (RunningMock, Activity) {
    stepped_with(common::builder(), config).await
}

async fn stepped_with(builder: MockBuilder, config: ActivityConfig) -> (RunningMock, Activity) {
    let mock = builder.activity(config).start().await.expect("mock starts");
    let activity = mock.activity().expect("activity on");
    (mock, activity)
}

/// Shares high enough that every detour shows up among a few dozen orders.
fn eventful(rate: f64) -> ActivityConfig {
    ActivityConfig::new(rate)
        .exception_share(0.25)
        .cancel_share(0.15)
        .transfer_share(0.35)
        .unassign_share(0.25)
}

struct Status {
    at: NaiveDateTime,
    status_id: Uuid,
    level: i64,
    label: String,
    driver: Option<Uuid>,
    step: Step,
}

/// The truth's order status changes by order, in truth order.
fn by_order(truth: &[TruthChange]) -> BTreeMap<Uuid, (String, Vec<Status>)> {
    let mut out: BTreeMap<Uuid, (String, Vec<Status>)> = BTreeMap::new();
    for c in truth {
        if let Change::OrderStatus {
            order,
            tracking_number,
            status_id,
            level,
            label,
            driver,
            step,
        } = &c.change
        {
            out.entry(*order)
                .or_insert_with(|| (tracking_number.clone(), Vec::new()))
                .1
                .push(Status {
                    at: c.at,
                    status_id: *status_id,
                    level: *level,
                    label: label.clone(),
                    driver: *driver,
                    step: *step,
                });
        }
    }
    out
}

#[tokio::test]
async fn the_same_seed_gives_the_same_truth_and_another_seed_another() {
    let run = |seed: u64| async move {
        let (mock, activity) = stepped(ActivityConfig::new(20.0).seed(seed)).await;
        let changes = activity.advance(TimeDelta::hours(4)).await.expect("steps");
        assert_eq!(
            changes,
            activity.truth(),
            "advance returns what the truth holds"
        );
        mock.shutdown().await;
        changes
    };
    let a = run(1).await;
    let b = run(1).await;
    let c = run(2).await;
    assert!(a.len() > 100, "4 hours at 20 orders an hour: {}", a.len());
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(
        a.windows(2)
            .all(|w| w[0].seq + 1 == w[1].seq && w[0].at <= w[1].at)
    );
    assert_eq!(a[0].seq, 1);
}

#[tokio::test]
async fn every_order_history_is_its_truth_and_lifecycles_are_valid() {
    let (mock, activity) = stepped(eventful(30.0).orders(60)).await;
    let start = mock.clock().now();
    activity.advance(TimeDelta::days(3)).await.expect("steps");
    assert!(activity.is_finished(), "60 orders end within 3 days");
    assert_eq!(mock.clock().now(), start + TimeDelta::days(3));
    let truth = activity.truth();
    let orders = by_order(&truth);
    assert_eq!(orders.len(), 60);
    let drivers: HashSet<Uuid> = mock.store().driver_ids().into_iter().collect();
    let client = common::client(&mock);
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut steps_seen = HashSet::new();
    for (id, (tracking, steps)) in &orders {
        let history = client
            .order_status_changes()
            .order_id(*id)
            .send()
            .await
            .expect("history")
            .into_inner();
        assert_eq!(history.len(), steps.len(), "order {tracking}");
        for (api, t) in history.iter().zip(steps) {
            assert_eq!(api.id.map(Uuid::from), Some(t.status_id), "{tracking}");
            assert_eq!(api.level.as_ref().and_then(|l| l.code()), Some(t.level));
            assert_eq!(api.name.as_deref(), Some(t.label.as_str()));
            assert_eq!(api.timestamp, Some(OnTimeDateTime::naive(t.at)));
        }
        // Legal levels per step, drivers consistent with the steps.
        let mut previous: Option<&Status> = None;
        for s in steps {
            steps_seen.insert(s.step);
            let levels: &[i64] = match s.step {
                Step::Created => &[1],
                Step::Assigned => &[6],
                Step::Unassigned => &[1, 8],
                Step::PickedUp | Step::InTransit | Step::Transferred => &[2],
                Step::Delivered => &[3],
                Step::Exception => &[2, 3],
                Step::Cancelled => &[4, 5],
            };
            assert!(
                levels.contains(&s.level),
                "{tracking}: {:?} at {}",
                s.step,
                s.level
            );
            match s.step {
                Step::Created | Step::Unassigned | Step::Cancelled => {
                    assert_eq!(s.driver, None, "{tracking}")
                }
                _ => assert!(s.driver.is_some_and(|d| drivers.contains(&d)), "{tracking}"),
            }
            let before = previous.and_then(|p| p.driver);
            match s.step {
                Step::Transferred => assert!(before.is_some() && s.driver != before),
                Step::PickedUp | Step::InTransit | Step::Delivered | Step::Exception => {
                    assert_eq!(
                        s.driver, before,
                        "{tracking}: only transfers change drivers"
                    )
                }
                _ => {}
            }
            if let Some(p) = previous {
                assert!(s.at > p.at, "{tracking}: steps are apart in time");
            }
            previous = Some(s);
        }
        let first = &steps[0];
        assert_eq!(first.step, Step::Created);
        let last = steps.last().expect("steps");
        assert!(matches!(last.level, 3..=5), "{tracking} ends final");
        let order = client
            .orders_get()
            .id(*id)
            .send()
            .await
            .expect("order")
            .into_inner();
        assert_eq!(order.tracking_number.as_deref(), Some(tracking.as_str()));
        assert_eq!(order.driver_currently_assigned.map(Uuid::from), last.driver);
        assert_eq!(
            order.status.as_ref().and_then(|s| s.id).map(Uuid::from),
            Some(last.status_id)
        );
        assert_eq!(order.date_submitted, Some(OnTimeDateTime::naive(first.at)));
        let pickup = steps
            .iter()
            .find(|s| s.step == Step::PickedUp)
            .map(|s| s.at);
        assert_eq!(
            order.collection_arrival_date,
            pickup.map(OnTimeDateTime::naive),
            "{tracking}: arrival at the collection is the pickup"
        );
        let items = order.items.clone().unwrap_or_default();
        assert!(!items.is_empty());
        for (k, item) in items.iter().enumerate() {
            assert_eq!(
                item.tracking_number.as_deref(),
                Some(format!("{tracking}-{:03}", k + 1).as_str())
            );
        }
        if last.step == Step::Delivered {
            let sig = client
                .order_signature()
                .id(*id)
                .send()
                .await
                .expect("signature")
                .into_inner()
                .expect("a delivered order is signed");
            assert!(
                base64::Engine::decode(&b64, sig)
                    .expect("base64")
                    .starts_with(b"\x89PNG")
            );
            let attachments = client
                .file_attachments_find()
                .order_id(*id)
                .send()
                .await
                .expect("attachments")
                .into_inner();
            assert_eq!(attachments.len(), 1, "{tracking}: one photo");
        }
    }
    for step in [
        Step::Created,
        Step::Assigned,
        Step::Unassigned,
        Step::PickedUp,
        Step::InTransit,
        Step::Transferred,
        Step::Delivered,
        Step::Exception,
        Step::Cancelled,
    ] {
        assert!(
            steps_seen.contains(&step),
            "{step:?} happens among 60 eventful orders"
        );
    }
    // Nothing more happens once finished.
    assert!(
        activity
            .advance(TimeDelta::days(1))
            .await
            .expect("steps")
            .is_empty()
    );
    mock.shutdown().await;
}

#[tokio::test]
async fn a_day_makes_about_five_status_changes_per_order() {
    let (mock, activity) = stepped(ActivityConfig::new(300.0 / 24.0).orders(300)).await;
    activity.advance(TimeDelta::days(3)).await.expect("steps");
    assert!(activity.is_finished());
    let orders = by_order(&activity.truth());
    let changes: usize = orders.values().map(|(_, s)| s.len()).sum();
    let per_order = changes as f64 / orders.len() as f64;
    assert_eq!(orders.len(), 300);
    assert!(
        (4.6..=5.8).contains(&per_order),
        "{per_order} changes per order"
    );
    mock.shutdown().await;
}

#[tokio::test]
async fn positions_and_availability_are_visible_as_recorded() {
    let (mock, activity) =
        stepped(ActivityConfig::new(10.0).position_interval(TimeDelta::minutes(2))).await;
    let start = mock.clock().now();
    let truth = activity.advance(TimeDelta::hours(30)).await.expect("steps");
    let client = common::client(&mock);
    let mut positions: HashMap<Uuid, Vec<(NaiveDateTime, f64, f64)>> = HashMap::new();
    let mut availability: HashMap<Uuid, (NaiveDateTime, bool)> = HashMap::new();
    for c in &truth {
        match c.change {
            Change::Position {
                user,
                latitude,
                longitude,
            } => positions
                .entry(user)
                .or_default()
                .push((c.at, latitude, longitude)),
            Change::Availability { user, available } => {
                availability.insert(user, (c.at, available));
            }
            _ => {}
        }
    }
    assert!(positions.values().map(Vec::len).sum::<usize>() > 200);
    assert!(
        availability.len() >= 2,
        "drivers change shifts within 30 hours"
    );
    for (user, recorded) in &positions {
        let api: Vec<(NaiveDateTime, f64, f64)> = client
            .user_positions()
            .user_id(*user)
            .date_min(OnTimeDateTime::naive(start))
            .send()
            .await
            .expect("positions")
            .into_inner()
            .into_iter()
            .map(|p| {
                (
                    p.timestamp.expect("time").naive_local(),
                    p.latitude.expect("lat"),
                    p.longitude.expect("lng"),
                )
            })
            .collect();
        assert_eq!(&api, recorded, "positions of {user}");
        let latest = client
            .user_position_latest()
            .user_id(*user)
            .send()
            .await
            .expect("latest")
            .into_inner();
        let last = recorded.last().expect("one");
        assert_eq!(latest.timestamp, Some(OnTimeDateTime::naive(last.0)));
        assert_eq!(
            (latest.latitude, latest.longitude),
            (Some(last.1), Some(last.2))
        );
    }
    // Drivers move: consecutive positions of some driver differ.
    assert!(
        positions
            .values()
            .any(|v| v.windows(2).any(|w| w[0].1 != w[1].1))
    );
    for (user, (at, available)) in &availability {
        let a = client
            .user_availability()
            .user_id(*user)
            .send()
            .await
            .expect("availability")
            .into_inner();
        assert_eq!(a.is_available, Some(*available), "{user}");
        assert_eq!(a.last_status_change, Some(OnTimeDateTime::naive(*at)));
    }
    mock.shutdown().await;
}

/// A loopback receiver that records bodies and answers 503 to the first `fail_first`
/// requests.
async fn receiver(fail_first: usize) -> (String, Arc<Mutex<Vec<(String, String)>>>) {
    use axum::http::{HeaderMap, StatusCode};
    let got: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let record = got.clone();
    let app = axum::Router::new().route(
        "/hooks/{token}",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let record = record.clone();
            let calls = calls.clone();
            async move {
                if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < fail_first {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                let ct = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                record.lock().expect("lock").push((ct, body));
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/hooks/secret-token-0123456789",
        listener.local_addr().expect("addr")
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

#[tokio::test]
async fn every_status_change_is_notified_with_the_rendered_body() {
    let (url, got) = receiver(1).await;
    let notify = NotifyConfig::new(&url)
        .expect("url")
        .backoff(Duration::from_millis(1));
    let (mock, activity) = stepped(ActivityConfig::new(30.0).orders(8).notify(notify)).await;
    activity.advance(TimeDelta::days(2)).await.expect("steps");
    assert!(activity.is_finished());
    let statuses: Vec<TruthChange> = activity
        .truth()
        .into_iter()
        .filter(|c| matches!(c.change, Change::OrderStatus { .. }))
        .collect();
    let bodies = got.lock().expect("lock").clone();
    assert_eq!(
        bodies.len(),
        statuses.len(),
        "one notification per status change"
    );
    for ((ct, body), truth) in bodies.iter().zip(&statuses) {
        assert_eq!(ct, "application/json");
        let v: serde_json::Value = serde_json::from_str(body).expect("json body");
        let Change::OrderStatus {
            order,
            tracking_number,
            label,
            level,
            ..
        } = &truth.change
        else {
            unreachable!("filtered")
        };
        assert_eq!(v["OrderID"], order.to_string());
        assert_eq!(v["TrackingNumber"], tracking_number.as_str());
        assert_eq!(v["Status"], label.as_str());
        assert_eq!(v["Level"], *level);
        assert_eq!(
            v["Timestamp"],
            truth.at.format("%Y-%m-%dT%H:%M:%S").to_string()
        );
    }
    let stats = activity.notify_stats();
    assert_eq!(stats.sent, statuses.len() as u64);
    assert_eq!(stats.failed, 0);
    assert_eq!(
        stats.attempts,
        stats.sent + 1,
        "the first failed and was retried"
    );
    mock.shutdown().await;
}

#[tokio::test]
async fn form_notifications_and_given_up_deliveries_are_counted() {
    let (url, got) = receiver(usize::MAX).await;
    let notify = NotifyConfig::new(&url)
        .expect("url")
        .content_type("application/x-www-form-urlencoded")
        .template(NotifyTemplate::parse("id={{order_id}}&s={{status}}").expect("template"))
        .attempts(2)
        .backoff(Duration::from_millis(1));
    let (mock, activity) = stepped(ActivityConfig::new(30.0).orders(2).notify(notify)).await;
    activity.advance(TimeDelta::days(2)).await.expect("steps");
    let statuses = activity
        .truth()
        .iter()
        .filter(|c| matches!(c.change, Change::OrderStatus { .. }))
        .count() as u64;
    let stats = activity.notify_stats();
    assert!(got.lock().expect("lock").is_empty());
    assert_eq!(
        (stats.sent, stats.failed, stats.attempts),
        (0, statuses, 2 * statuses)
    );
    mock.shutdown().await;

    let (url, got) = receiver(0).await;
    let notify = NotifyConfig::new(&url)
        .expect("url")
        .content_type("application/x-www-form-urlencoded")
        .template(NotifyTemplate::parse("id={{order_id}}&s={{status}}").expect("template"));
    let (mock, activity) = stepped(ActivityConfig::new(30.0).orders(2).notify(notify)).await;
    activity.advance(TimeDelta::days(2)).await.expect("steps");
    let bodies = got.lock().expect("lock").clone();
    assert!(!bodies.is_empty());
    let labels: Vec<String> = activity
        .truth()
        .iter()
        .filter_map(|c| match &c.change {
            Change::OrderStatus { label, .. } => Some(label.clone()),
            _ => None,
        })
        .collect();
    for ((ct, body), label) in bodies.iter().zip(&labels) {
        assert_eq!(ct, "application/x-www-form-urlencoded");
        let form: HashMap<String, String> = form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(&form["s"], label);
    }
    mock.shutdown().await;
}

#[tokio::test]
async fn a_fast_running_clock_makes_changes_and_stops_after_the_orders() {
    let dir = std::env::temp_dir().join(format!("ontime-mock-truth-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("truth.ndjson");
    let mock = ontime_mock::OnTimeMock::builder()
        .orders(300)
        .clock_start(common::start_time())
        .clock_speed(20.0 * 3600.0)
        .activity(ActivityConfig::new(60.0).orders(5).truth_file(&file))
        .start()
        .await
        .expect("mock starts");
    let activity = mock.activity().expect("activity");
    assert_eq!(
        activity.advance(TimeDelta::minutes(1)).await,
        Err(ActivityError::ClockRunning)
    );
    tokio::time::timeout(Duration::from_secs(60), activity.finished())
        .await
        .expect("5 orders finish within a minute of real time at 20 simulated hours a second");
    let truth = activity.truth();
    let orders = by_order(&truth);
    assert_eq!(orders.len(), 5);
    assert!(
        orders
            .values()
            .all(|(_, s)| matches!(s.last().map(|l| l.level), Some(3..=5)))
    );
    let len = activity.truth_len();
    assert_eq!(len, truth.len() as u64);
    // The file holds the same changes, one a line.
    let lines: Vec<TruthChange> = std::fs::read_to_string(&file)
        .expect("truth file")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a change a line"))
        .collect();
    assert_eq!(lines, truth);
    // The same account stepped with a frozen clock makes the same changes.
    let (stepped_mock, stepped_activity) = stepped(ActivityConfig::new(60.0).orders(5)).await;
    stepped_activity
        .advance(TimeDelta::days(2))
        .await
        .expect("steps");
    assert_eq!(stepped_activity.truth(), truth, "running mode = step mode");
    stepped_mock.shutdown().await;
    // Finished means final: the clock runs on, nothing more is recorded.
    mock.clock().advance(Duration::from_secs(86_400));
    tokio::task::yield_now().await;
    assert_eq!(activity.truth_len(), len);
    mock.shutdown().await;
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[tokio::test]
async fn bad_activity_settings_are_refused_before_anything_starts() {
    use ontime_mock::MockError;
    let bad = [
        ActivityConfig::new(0.0),
        ActivityConfig::new(f64::NAN),
        ActivityConfig::new(5.0).cancel_share(1.5),
        ActivityConfig::new(5.0)
            .exception_share(0.6)
            .cancel_share(0.6),
        ActivityConfig::new(5.0).position_interval(TimeDelta::zero()),
    ];
    for config in bad {
        let shown = format!("{config:?}");
        let started = common::builder().activity(config).start().await;
        assert!(matches!(started, Err(MockError::Invalid(_))), "{shown}");
    }
    let missing_dir = std::env::temp_dir()
        .join(format!("no-such-dir-{}", Uuid::new_v4()))
        .join("truth.ndjson");
    let started = common::builder()
        .activity(ActivityConfig::new(5.0).truth_file(&missing_dir))
        .start()
        .await;
    assert!(matches!(started, Err(MockError::TruthFile { .. })));
    for speed in [0.0, -2.0, f64::INFINITY] {
        let started = common::builder().clock_speed(speed).start().await;
        assert!(matches!(started, Err(MockError::Invalid(_))), "{speed}");
    }
    let (mock, activity) = stepped(ActivityConfig::new(5.0)).await;
    assert_eq!(
        activity.advance(TimeDelta::seconds(-1)).await,
        Err(ActivityError::Backwards(TimeDelta::seconds(-1)))
    );
    mock.shutdown().await;
}
