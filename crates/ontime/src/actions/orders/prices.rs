//! Order prices: recalculating a stored order's prices and pricing a draft.

use ontime_raw::index::Operation;
use ontime_raw::types::Order;

use crate::Result;
use crate::actions::applied;
use crate::resource::Resource;
use crate::retry::Idempotency;
use ontime_raw::ids::*;

impl Resource<Order> {
    /// Recalculates and stores the order's prices. OnTime's `false` (not applied) is
    /// [`Error::BadRequest`](crate::Error::BadRequest).
    pub async fn update_prices(&self, order: OrderId) -> Result<()> {
        let raw = self.client.raw();
        self.client
            .call(
                Operation::OrderUpdatePrices,
                Idempotency::Idempotent,
                || raw.order_update_prices().id(order.as_uuid()).send(),
            )
            .await
            .and_then(|answer| {
                applied(Operation::OrderUpdatePrices, answer, || {
                    format!("the price update of order {order}")
                })
            })
    }

    /// Prices a draft order without saving it.
    pub async fn total_cost(&self, draft: &Order) -> Result<f64> {
        let raw = self.client.raw();
        self.client
            .call(
                Operation::OrderGetTotalCost,
                Idempotency::Idempotent,
                || raw.order_get_total_cost().body(draft.clone()).send(),
            )
            .await
    }
}
