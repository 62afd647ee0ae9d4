//! `ontime customers ...`

use clap::{Args, Subcommand};
use ontime::{CustomerFilter, CustomerId};

use crate::args;
use crate::context::Ctx;
use crate::error::CliError;
use crate::listing::{self, ListArgs};

// Parsed once per run: the size difference between variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum CustomersCommand {
    /// Find customers by filters
    Find(FindCustomers),
    /// Fetch customers by ID
    Get(GetCustomers),
    /// Fetch the customer with exactly this name
    ByName(ByName),
}

#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Filters")]
pub struct CustomerFilterArgs {
    /// Customers with this name
    #[arg(long, value_parser = args::non_blank)]
    pub name: Option<String>,
    /// Customers with this account number
    #[arg(long, value_name = "TEXT", value_parser = args::non_blank)]
    pub account_number: Option<String>,
    /// Customers with this e-mail address
    #[arg(long, value_parser = args::non_blank)]
    pub email: Option<String>,
    /// Customers with this primary contact
    #[arg(long, value_name = "NAME", value_parser = args::non_blank)]
    pub primary_contact_name: Option<String>,
    /// Customers with this reference number
    #[arg(long, value_name = "TEXT", value_parser = args::non_blank)]
    pub reference_number: Option<String>,
    /// Customers at this street address (first line)
    #[arg(long, value_name = "TEXT", value_parser = args::non_blank)]
    pub address_line1: Option<String>,
    /// Customers in this city
    #[arg(long, value_parser = args::non_blank)]
    pub city: Option<String>,
    /// Customers in this state or province
    #[arg(long, value_parser = args::non_blank)]
    pub state: Option<String>,
    /// Customers with this postal code
    #[arg(long, value_name = "CODE", value_parser = args::non_blank)]
    pub postal_code: Option<String>,
    /// Customers in this country
    #[arg(long, value_parser = args::non_blank)]
    pub country: Option<String>,
    /// Only inactive (true) or only active (false) customers
    #[arg(long, value_name = "BOOL")]
    pub inactive: Option<bool>,
    #[command(flatten)]
    pub changed: args::ChangeRanges,
}

impl CustomerFilterArgs {
    /// The facade's filter; a range that ends before it starts is a usage error.
    pub fn to_filter(&self) -> Result<CustomerFilter, CliError> {
        let mut f = CustomerFilter::new();
        f.name = self.name.clone();
        f.account_number = self.account_number.clone();
        f.email = self.email.clone();
        f.primary_contact_name = self.primary_contact_name.clone();
        f.reference_number = self.reference_number.clone();
        f.address_line1 = self.address_line1.clone();
        f.city = self.city.clone();
        f.state = self.state.clone();
        f.postal_code = self.postal_code.clone();
        f.country = self.country.clone();
        f.inactive = self.inactive;
        [f.created_from, f.created_to, f.modified_from, f.modified_to] = self.changed.checked()?;
        Ok(f)
    }
}

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  ontime customers find --city Boston\n  ontime customers find --inactive false --created-from 2026-01-01 -o csv"
)]
pub struct FindCustomers {
    #[command(flatten)]
    pub filter: CustomerFilterArgs,
    #[command(flatten)]
    pub list: ListArgs,
}

#[derive(Args, Debug)]
pub struct GetCustomers {
    /// Customer IDs (GUIDs)
    #[arg(value_name = "ID", required = true, value_parser = args::id::<CustomerId>)]
    pub ids: Vec<CustomerId>,
    #[command(flatten)]
    pub keep_going: listing::KeepGoing,
}

#[derive(Args, Debug)]
pub struct ByName {
    /// The customer's name, exactly
    #[arg(value_parser = args::non_blank)]
    pub name: String,
}

pub async fn run(ctx: &Ctx, cmd: CustomersCommand) -> Result<(), CliError> {
    let client = ctx.client()?;
    match cmd {
        CustomersCommand::Find(args) => {
            listing::find_and_print(
                ctx,
                client.customers(),
                args.filter.to_filter()?,
                &args.list,
            )
            .await
        }
        CustomersCommand::Get(args) => {
            listing::get_and_print(ctx, client.customers(), args.ids, args.keep_going).await
        }
        CustomersCommand::ByName(args) => {
            let customer = client
                .customers()
                .by_name(args.name.clone())
                .await?
                .ok_or_else(|| {
                    CliError::not_found(format!("no customer is named {:?}", args.name))
                })?;
            ctx.output().one(&customer)
        }
    }
}
