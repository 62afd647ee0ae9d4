//! `ontime users ...`: users, drivers' positions and availability.

use clap::{Args, Subcommand};
use ontime::types::UserPosition;
use ontime::{OnTimeDateTime, PositionFilter, UserFilter, UserId};

use crate::args;
use crate::context::Ctx;
use crate::error::CliError;
use crate::listing::{self, ListArgs};

// Parsed once per run: the size difference between variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    /// Find users by filters
    Find(FindUsers),
    /// Fetch users by ID
    Get(GetUsers),
    /// A driver's reported positions (or only the latest)
    Position(Position),
    /// Whether a driver is available now
    Availability(Availability),
}

#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Filters")]
pub struct UserFilterArgs {
    /// The user with this sign-in name
    #[arg(long, value_name = "NAME", value_parser = args::non_blank)]
    pub user_name: Option<String>,
    /// Users with this first name
    #[arg(long, value_name = "NAME", value_parser = args::non_blank)]
    pub first_name: Option<String>,
    /// Users with this last name
    #[arg(long, value_name = "NAME", value_parser = args::non_blank)]
    pub last_name: Option<String>,
    /// Users with this e-mail address
    #[arg(long, value_parser = args::non_blank)]
    pub email: Option<String>,
    #[command(flatten)]
    pub changed: args::ChangeRanges,
}

impl UserFilterArgs {
    /// The facade's filter; a range that ends before it starts is a usage error.
    pub fn to_filter(&self) -> Result<UserFilter, CliError> {
        let mut f = UserFilter::new();
        f.user_name = self.user_name.clone();
        f.first_name = self.first_name.clone();
        f.last_name = self.last_name.clone();
        f.email = self.email.clone();
        [f.created_from, f.created_to, f.modified_from, f.modified_to] = self.changed.checked()?;
        Ok(f)
    }
}

#[derive(Args, Debug)]
pub struct FindUsers {
    #[command(flatten)]
    pub filter: UserFilterArgs,
    #[command(flatten)]
    pub list: ListArgs,
}

#[derive(Args, Debug)]
pub struct GetUsers {
    /// User IDs (GUIDs)
    #[arg(value_name = "ID", required = true, value_parser = args::id::<UserId>)]
    pub ids: Vec<UserId>,
    #[command(flatten)]
    pub keep_going: listing::KeepGoing,
}

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  ontime users position 7d9f…  --from 2026-11-24T08:00:00 --to 2026-11-24T18:00:00\n  ontime users position 7d9f… --latest -o json"
)]
pub struct Position {
    /// The user's ID
    #[arg(value_name = "USER_ID", value_parser = args::id::<UserId>)]
    pub user: UserId,
    /// Positions recorded at or after this time
    #[arg(long, value_name = "DATE", value_parser = args::date)]
    pub from: Option<OnTimeDateTime>,
    /// Positions recorded at or before this time (a bare date: through the end of that day)
    #[arg(long, value_name = "DATE", value_parser = args::date_to)]
    pub to: Option<OnTimeDateTime>,
    /// Only the most recent position
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub latest: bool,
}

#[derive(Args, Debug)]
pub struct Availability {
    /// The user's ID
    #[arg(value_name = "USER_ID", value_parser = args::id::<UserId>)]
    pub user: UserId,
}

pub async fn run(ctx: &Ctx, cmd: UsersCommand) -> Result<(), CliError> {
    let client = ctx.client()?;
    let users = client.users();
    match cmd {
        UsersCommand::Find(args) => {
            listing::find_and_print(ctx, users, args.filter.to_filter()?, &args.list).await
        }
        UsersCommand::Get(args) => {
            listing::get_and_print(ctx, users, args.ids, args.keep_going).await
        }
        UsersCommand::Position(args) => {
            let missing = || format!("no user has the ID {}", args.user);
            if args.latest {
                let position = users
                    .latest_position(args.user)
                    .await
                    .map_err(|e| CliError::from(e).if_not_found(missing))?;
                let Some(position) = position else {
                    // No position, or no such user: OnTime answers the same for both.
                    if users.try_get(args.user).await?.is_none() {
                        return Err(CliError::not_found(missing()));
                    }
                    return Err(CliError::not_found(format!(
                        "user {} has reported no position",
                        args.user
                    )));
                };
                return ctx.output().one(&position);
            }
            args::check_range("--from", args.from, "--to", args.to)?;
            let mut filter = PositionFilter::new().user(args.user);
            filter.from = args.from;
            filter.to = args.to;
            let positions = users
                .positions(filter)
                .await
                .map_err(|e| CliError::from(e).if_not_found(missing))?;
            // An unknown user has no positions either: one more call, only when there are
            // none, tells the two apart (before anything is printed).
            if positions.is_empty() && users.try_get(args.user).await?.is_none() {
                return Err(CliError::not_found(missing()));
            }
            let mut output = ctx.output();
            let mut list = output.list::<UserPosition>();
            for position in &positions {
                list.push_serialize(position)?;
            }
            if list.finish()? == 0 {
                ctx.note(format!("No positions of user {} in that time.", args.user));
            }
            Ok(())
        }
        UsersCommand::Availability(args) => {
            let availability = users.availability(args.user).await.map_err(|e| {
                CliError::from(e).if_not_found(|| format!("no user has the ID {}", args.user))
            })?;
            ctx.output().one(&availability)
        }
    }
}
