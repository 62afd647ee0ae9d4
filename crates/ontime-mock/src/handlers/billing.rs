//! Invoices and payments: their numbers, totals and whether an invoice is paid.

use ontime_raw::types;
use uuid::Uuid;

use super::Ctx;
use super::generic::{Stored, stored};
use crate::http_util::ApiError;
use crate::store::{Store, dt};

impl Stored for types::Invoice {
    stored!(invoices, owner = customer);

    /// A new invoice gets the next number, today's date and the total of its orders.
    fn before_upsert(&mut self, store: &mut Store, ctx: &Ctx) -> Result<(), ApiError> {
        let existing = self
            .id
            .and_then(|id| store.invoices.get(&Uuid::from(id)))
            .and_then(|r| r.rec.invoice_number);
        if self.invoice_number.is_none() {
            self.invoice_number = Some(match existing {
                Some(n) => n,
                None => {
                    store.next_invoice_number += 1;
                    store.next_invoice_number - 1
                }
            });
        }
        if self.date.is_none() {
            self.date = Some(dt(ctx.now));
        }
        if self.total_amount.is_none() {
            let total: f64 = self
                .orders
                .iter()
                .flatten()
                .filter_map(|o| store.order_idx((*o).into()))
                .map(|i| store.order(i).total_cost.unwrap_or(0.0))
                .sum();
            self.total_amount = Some(crate::pricing::cents(total));
        }
        Ok(())
    }
}

impl Stored for types::Payment {
    stored!(payments, owner = customer);

    fn before_upsert(&mut self, _store: &mut Store, ctx: &Ctx) -> Result<(), ApiError> {
        if self.date.is_none() {
            self.date = Some(dt(ctx.now));
        }
        Ok(())
    }

    /// An invoice is paid once its payments cover its total.
    fn after_upsert(store: &mut Store, id: Uuid, ctx: &Ctx) {
        let Some(inv) = store.payments.get(&id).and_then(|r| r.rec.invoice) else {
            return;
        };
        let paid: f64 = store
            .payments
            .values()
            .filter(|r| r.rec.invoice == Some(inv))
            .filter_map(|r| r.rec.amount)
            .sum();
        if let Some(row) = store.invoices.get_mut(&Uuid::from(inv)) {
            row.rec.is_paid = Some(paid + 0.005 >= row.rec.total_amount.unwrap_or(0.0));
            row.modified = ctx.now;
        }
    }
}
