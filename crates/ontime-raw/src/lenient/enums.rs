//! Int-or-name enums that keep unknown values (`LenientEnum` and the `lenient_enum!` types).

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::*;

// ---------------------------------------------------------------------------
// Lenient enums
// ---------------------------------------------------------------------------

/// An enum value that this version of the crate does not know, kept exactly
/// as it was received so that it can be written back unchanged.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum UnknownEnumValue {
    /// An integer code, written back as a JSON number.
    Code(i64),
    /// A name (any string that is neither a known name nor an integer),
    /// written back as the same JSON string.
    Name(String),
}

impl fmt::Display for UnknownEnumValue {
    /// Writes the code or the name verbatim.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Code(code) => write!(f, "{code}"),
            Self::Name(name) => f.write_str(name),
        }
    }
}

impl FromStr for UnknownEnumValue {
    type Err = ParseError;

    /// An integer becomes [`Code`](Self::Code), anything else but the empty
    /// string becomes [`Name`](Self::Name).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(ParseError::new("enum value", s, "empty string"));
        }
        Ok(match parse_enum_code(s) {
            Some(code) => Self::Code(code),
            None => Self::Name(s.to_owned()),
        })
    }
}

impl Serialize for UnknownEnumValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Code(code) => serializer.serialize_i64(*code),
            Self::Name(name) => serializer.serialize_str(name),
        }
    }
}

impl<'de> Deserialize<'de> for UnknownEnumValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RawVisitor;

        impl Visitor<'_> for RawVisitor {
            type Value = UnknownEnumValue;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an enum code (integer) or name (string)")
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(UnknownEnumValue::Code(v))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                i64::try_from(v)
                    .map(UnknownEnumValue::Code)
                    .map_err(|_| E::custom(format_args!("enum code {v} is out of range")))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(match parse_enum_code(v) {
                    Some(code) => UnknownEnumValue::Code(code),
                    None => UnknownEnumValue::Name(v.to_owned()),
                })
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(match parse_enum_code(&v) {
                    Some(code) => UnknownEnumValue::Code(code),
                    None => UnknownEnumValue::Name(v),
                })
            }
        }

        deserializer.deserialize_any(RawVisitor)
    }
}

/// An enum code written as a string: optional sign, then ASCII digits, with
/// surrounding ASCII whitespace ignored. `None` if not an `i64`.
fn parse_enum_code(s: &str) -> Option<i64> {
    let t = s.trim_ascii();
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// What every int-or-name enum of the API offers, for code that works on any of them (the
/// simulator's check of posted values, lookups by name). Each enum also has these as inherent
/// methods, so using one enum needs no import.
pub trait LenientEnum: Sized + Clone + fmt::Debug + fmt::Display + 'static {
    /// The enum's name in the spec (`StatusLevel`).
    const NAME: &'static str;
    /// All known variants (everything except `Unknown`), in code order.
    fn all() -> &'static [Self];
    /// The integer code: the known code, an unknown code as received, or `None` for an unknown
    /// name.
    fn code(&self) -> Option<i64>;
    /// The variant name for known variants, `None` for `Unknown`.
    fn name(&self) -> Option<&'static str>;
    /// Whether this is a value this crate does not know.
    fn is_unknown(&self) -> bool;
    /// The known variant with this code, if any.
    fn from_known_code(code: i64) -> Option<Self>;
    /// The known variant with this name (ASCII case-insensitive), if any.
    fn from_known_name(name: &str) -> Option<Self>;
}

/// Defines an enum that is an integer code on the wire, also accepts its
/// names, and keeps unknown codes and names in an `Unknown` variant.
///
/// ```text
/// lenient_enum! {
///     /// Docs for the enum.
///     pub enum Name {
///         /// Docs for the variant.
///         Variant = 0,
///     }
/// }
/// ```
///
/// The first variant should be code 0: `Default` returns the code-0 value.
macro_rules! lenient_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $code:literal
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        ///
        /// On the wire this is an integer code; names are accepted too
        /// (ASCII case-insensitive), as are integers written as strings.
        /// Known variants are written as their code. Codes and names this
        /// crate does not know decode to `Unknown` and are written back
        /// exactly as received.
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        $vis enum $name {
            $(
                $(#[$vmeta])*
                #[doc = ""]
                #[doc = concat!("Wire code `", stringify!($code), "`.")]
                $variant,
            )+
            /// A code or name this version of the crate does not know,
            /// kept as received. Decoding never produces this for a known
            /// code or name.
            Unknown(UnknownEnumValue),
        }

        impl $name {
            /// All known variants (everything except `Unknown`), in code
            /// order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The known variant with this code, if any.
            pub const fn from_known_code(code: i64) -> Option<Self> {
                match code {
                    $($code => Some(Self::$variant),)+
                    _ => None,
                }
            }

            /// The known variant with this name (ASCII case-insensitive,
            /// surrounding ASCII whitespace ignored), if any.
            pub fn from_known_name(name: &str) -> Option<Self> {
                let name = name.trim_ascii();
                $(
                    if name.eq_ignore_ascii_case(stringify!($variant)) {
                        return Some(Self::$variant);
                    }
                )+
                None
            }

            /// Decodes a string from the wire: a known name, an integer
            /// (known or unknown code), or else an unknown name kept
            /// verbatim.
            fn from_wire_str(s: &str) -> Self {
                if let Some(known) = Self::from_known_name(s) {
                    return known;
                }
                match parse_enum_code(s) {
                    Some(code) => Self::from(code),
                    None => Self::Unknown(UnknownEnumValue::Name(s.to_owned())),
                }
            }

            /// The integer code: the known code, an unknown code as
            /// received, or `None` for an unknown name.
            pub fn code(&self) -> Option<i64> {
                match self {
                    $(Self::$variant => Some($code),)+
                    Self::Unknown(UnknownEnumValue::Code(code)) => Some(*code),
                    Self::Unknown(UnknownEnumValue::Name(_)) => None,
                }
            }

            /// The variant name for known variants, `None` for `Unknown`.
            pub fn name(&self) -> Option<&'static str> {
                match self {
                    $(Self::$variant => Some(stringify!($variant)),)+
                    Self::Unknown(_) => None,
                }
            }

            /// Whether this is a value this crate does not know.
            pub fn is_unknown(&self) -> bool {
                matches!(self, Self::Unknown(_))
            }
        }

        impl LenientEnum for $name {
            const NAME: &'static str = stringify!($name);

            fn all() -> &'static [Self] {
                Self::ALL
            }

            fn code(&self) -> Option<i64> {
                $name::code(self)
            }

            fn name(&self) -> Option<&'static str> {
                $name::name(self)
            }

            fn is_unknown(&self) -> bool {
                $name::is_unknown(self)
            }

            fn from_known_code(code: i64) -> Option<Self> {
                $name::from_known_code(code)
            }

            fn from_known_name(name: &str) -> Option<Self> {
                $name::from_known_name(name)
            }
        }

        impl Default for $name {
            /// The code-0 variant.
            fn default() -> Self {
                Self::from(0)
            }
        }

        impl From<i64> for $name {
            /// The known variant with this code, or `Unknown(Code(code))`.
            fn from(code: i64) -> Self {
                Self::from_known_code(code)
                    .unwrap_or(Self::Unknown(UnknownEnumValue::Code(code)))
            }
        }

        impl fmt::Display for $name {
            /// Writes the name of a known variant, or an unknown code or
            /// name verbatim.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $(Self::$variant => f.write_str(stringify!($variant)),)+
                    Self::Unknown(raw) => fmt::Display::fmt(raw, f),
                }
            }
        }

        impl FromStr for $name {
            type Err = ParseError;

            /// Accepts a name (ASCII case-insensitive) or an integer code.
            /// Any other non-empty string becomes `Unknown(Name(..))`; only
            /// the empty string is an error.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                if s.is_empty() {
                    return Err(ParseError::new(stringify!($name), s, "empty string"));
                }
                Ok(Self::from_wire_str(s))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(Self::$variant => serializer.serialize_i64($code),)+
                    Self::Unknown(raw) => raw.serialize(serializer),
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct EnumVisitor;

                impl Visitor<'_> for EnumVisitor {
                    type Value = $name;

                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!(
                            "a ",
                            stringify!($name),
                            " code (integer) or name (string)"
                        ))
                    }

                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                        Ok($name::from(v))
                    }

                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                        i64::try_from(v).map($name::from).map_err(|_| {
                            E::custom(format_args!(
                                concat!(stringify!($name), " code {} is out of range"),
                                v
                            ))
                        })
                    }

                    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                        Ok($name::from_wire_str(v))
                    }
                }

                deserializer.deserialize_any(EnumVisitor)
            }
        }
    };
}

lenient_enum! {
    /// Status level of an order (`Level`).
    ///
    /// # Example
    ///
    /// ```
    /// use ontime_raw::lenient::{StatusLevel, UnknownEnumValue};
    ///
    /// let level: StatusLevel = serde_json::from_str("\"delivered\"").unwrap();
    /// assert_eq!(level, StatusLevel::Delivered);
    /// assert_eq!(serde_json::to_string(&level).unwrap(), "3");
    ///
    /// let future: StatusLevel = serde_json::from_str("42").unwrap();
    /// assert_eq!(future, StatusLevel::Unknown(UnknownEnumValue::Code(42)));
    /// assert_eq!(serde_json::to_string(&future).unwrap(), "42");
    /// ```
    pub enum StatusLevel {
        /// No status.
        None = 0,
        /// Dispatched, not yet assigned to a driver.
        Dispatched = 1,
        /// Assigned to a driver who is in route.
        AssignedInRoute = 2,
        /// Delivered.
        Delivered = 3,
        /// Cancelled.
        Cancelled = 4,
        /// Cancelled, but still billable.
        CancelledBillable = 5,
        /// Assigned to a driver.
        Assigned = 6,
        /// Stored (held in storage).
        Stored = 7,
        /// Stored and not assigned to a driver.
        UnassignedStored = 8,
        /// A quote, not yet an order.
        Quoted = 9,
    }
}

lenient_enum! {
    /// How the base price of a price set is calculated.
    pub enum PricingMethod {
        /// No pricing method.
        None = 0,
        /// Price looked up from collection zone to delivery zone.
        ZoneToZone = 1,
        /// Price based on distance.
        Distance = 2,
        /// A flat rate.
        FlatRate = 3,
    }
}

lenient_enum! {
    /// Kind of a price modifier.
    pub enum PriceModifierType {
        /// Any other modifier.
        Other = 0,
        /// Charge for signature capture.
        SignatureCapture = 1,
        /// Charge for cash on delivery.
        CashOnDelivery = 2,
        /// Distance-based base price.
        DistanceBasePrice = 3,
        /// An ad-hoc charge.
        AdHocCharge = 4,
        /// Tax.
        Tax = 5,
    }
}

lenient_enum! {
    /// The input a price modifier is calculated from.
    pub enum PriceModifierInput {
        /// No input.
        None = 0,
        /// Weight.
        Weight = 1,
        /// Quantity.
        Quantity = 2,
        /// Mileage.
        Mileage = 3,
        /// Dimensions.
        Dimensions = 4,
        /// A custom value.
        Custom = 5,
        /// Declared value.
        DeclaredValue = 6,
        /// Base price.
        BasePrice = 7,
        /// Height.
        Height = 8,
        /// Width.
        Width = 9,
        /// Depth.
        Depth = 10,
        /// A zone lookup table.
        ZoneLookupTable = 11,
        /// Duration of the collection.
        CollectionDuration = 12,
        /// Duration of the delivery.
        DeliveryDuration = 13,
        /// Vehicle type.
        VehicleType = 14,
        /// Package type.
        PackageType = 15,
    }
}

lenient_enum! {
    /// Role a compensation applies to.
    pub enum CompensationRole {
        /// No role.
        None = 0,
        /// A dispatcher.
        Dispatcher = 1,
        /// A driver.
        Driver = 2,
    }
}

lenient_enum! {
    /// Unit of a compensation.
    pub enum CompensationType {
        /// No compensation.
        None = 0,
        /// Paid in money.
        Money = 1,
        /// Paid in time.
        Time = 2,
    }
}

lenient_enum! {
    /// Kind of user that logged in.
    pub enum LogInType {
        /// Undefined.
        Undefined = 0,
        /// A dispatcher.
        Dispatcher = 1,
        /// A driver.
        Driver = 2,
    }
}

lenient_enum! {
    /// Whether a signature was taken at collection or at delivery.
    pub enum SignatureType {
        /// Signature taken at collection.
        Collection = 0,
        /// Signature taken at delivery.
        Delivery = 1,
    }
}
