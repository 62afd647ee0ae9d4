//! Small built-in word lists for realistic seeded data (a courier company in the Dallas–Fort
//! Worth area).

pub(crate) const FIRST_NAMES: &[&str] = &[
    "James",
    "Maria",
    "Robert",
    "Linda",
    "Michael",
    "Patricia",
    "David",
    "Jennifer",
    "Carlos",
    "Elizabeth",
    "Daniel",
    "Susan",
    "Thomas",
    "Jessica",
    "Anthony",
    "Sarah",
    "Kevin",
    "Karen",
    "Jose",
    "Nancy",
    "Brian",
    "Lisa",
    "Marcus",
    "Angela",
    "Luis",
    "Sandra",
    "Andre",
    "Ashley",
    "Tyler",
    "Emily",
    "Hector",
    "Monica",
    "Derek",
    "Rachel",
    "Omar",
    "Tanya",
];

pub(crate) const LAST_NAMES: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Nguyen",
    "Patel",
    "Kim",
    "Okafor",
];

pub(crate) const COMPANY_FIRST: &[&str] = &[
    "Vesigo",
    "Lone Star",
    "Trinity",
    "Bluebonnet",
    "Redbird",
    "Cedar",
    "Summit",
    "Pioneer",
    "Northgate",
    "Parkview",
    "Magnolia",
    "Ironwood",
    "Keystone",
    "Riverbend",
    "Silverline",
    "Harbor",
    "Prairie",
    "Granite",
    "Oakmont",
    "Westfield",
    "Copperleaf",
    "Sterling",
    "Meridian",
    "Legacy",
];

pub(crate) const COMPANY_SECOND: &[&str] = &[
    "Studios",
    "Medical Group",
    "Legal Partners",
    "Dental Lab",
    "Auto Parts",
    "Printing",
    "Pharmacy",
    "Title Company",
    "Imaging Center",
    "Florist",
    "Engineering",
    "Architects",
    "Supply Co.",
    "Logistics",
    "Orthopedics",
    "Accounting",
    "Realty",
    "Labs",
];

pub(crate) const STREETS: &[&str] = &[
    "Main",
    "Elm",
    "Commerce",
    "Ross",
    "McKinney",
    "Oak Lawn",
    "Preston",
    "Belt Line",
    "Spring Valley",
    "Greenville",
    "Lemmon",
    "Harwood",
    "Akard",
    "Pearl",
    "Cedar Springs",
    "Maple",
    "Forest",
    "Royal",
    "Walnut Hill",
    "Campbell",
    "Legacy",
    "Alma",
    "Coit",
    "Plano",
    "Park",
    "Collins",
];

pub(crate) const STREET_KINDS: &[&str] = &["St", "Ave", "Blvd", "Rd", "Dr", "Pkwy", "Ln"];

/// City, state, postal codes, latitude, longitude, zone index.
pub(crate) struct City {
    pub name: &'static str,
    pub state: &'static str,
    pub postal_codes: &'static [&'static str],
    pub lat: f64,
    pub lng: f64,
    pub zone: usize,
}

pub(crate) const CITIES: &[City] = &[
    City {
        name: "Dallas",
        state: "TX",
        postal_codes: &["75201", "75202", "75204", "75219"],
        lat: 32.7831,
        lng: -96.8067,
        zone: 0,
    },
    City {
        name: "Dallas",
        state: "TX",
        postal_codes: &["75225", "75230", "75240", "75248"],
        lat: 32.9180,
        lng: -96.7830,
        zone: 1,
    },
    City {
        name: "Richardson",
        state: "TX",
        postal_codes: &["75080", "75081", "75082"],
        lat: 32.9483,
        lng: -96.7299,
        zone: 1,
    },
    City {
        name: "Plano",
        state: "TX",
        postal_codes: &["75023", "75024", "75074", "75093"],
        lat: 33.0198,
        lng: -96.6989,
        zone: 2,
    },
    City {
        name: "Frisco",
        state: "TX",
        postal_codes: &["75033", "75034", "75035"],
        lat: 33.1507,
        lng: -96.8236,
        zone: 2,
    },
    City {
        name: "Irving",
        state: "TX",
        postal_codes: &["75038", "75039", "75061", "75062"],
        lat: 32.8140,
        lng: -96.9489,
        zone: 3,
    },
    City {
        name: "Grand Prairie",
        state: "TX",
        postal_codes: &["75050", "75051", "75052"],
        lat: 32.7459,
        lng: -96.9978,
        zone: 3,
    },
    City {
        name: "Arlington",
        state: "TX",
        postal_codes: &["76010", "76011", "76013"],
        lat: 32.7357,
        lng: -97.1081,
        zone: 4,
    },
    City {
        name: "Fort Worth",
        state: "TX",
        postal_codes: &["76102", "76104", "76107", "76109"],
        lat: 32.7555,
        lng: -97.3308,
        zone: 5,
    },
    City {
        name: "Garland",
        state: "TX",
        postal_codes: &["75040", "75041", "75042"],
        lat: 32.9126,
        lng: -96.6389,
        zone: 6,
    },
    City {
        name: "Mesquite",
        state: "TX",
        postal_codes: &["75149", "75150"],
        lat: 32.7668,
        lng: -96.5992,
        zone: 6,
    },
    City {
        name: "Carrollton",
        state: "TX",
        postal_codes: &["75006", "75007", "75010"],
        lat: 32.9756,
        lng: -96.8900,
        zone: 7,
    },
];

pub(crate) const ZONES: &[&str] = &[
    "Downtown Dallas",
    "North Dallas",
    "Collin County",
    "Irving / Grand Prairie",
    "Arlington",
    "Fort Worth",
    "East Dallas County",
    "Northwest",
];

pub(crate) const ITEM_DESCRIPTIONS: &[&str] = &[
    "Documents envelope",
    "Small parcel",
    "Medical specimen cooler",
    "Legal files box",
    "Auto parts",
    "Floral arrangement",
    "Lab samples",
    "Dental impressions",
    "Blueprint tube",
    "Pharmacy tote",
    "Laptop",
    "Half pallet",
];

pub(crate) const ORDER_COMMENTS: &[&str] = &[
    "Call on arrival",
    "Leave at reception",
    "Fragile - handle with care",
    "Deliver to loading dock",
    "Signature required at front desk",
    "Keep upright",
    "Use side entrance",
];

pub(crate) const VEHICLE_MODELS: &[(&str, &str, &str)] = &[
    ("Ford", "Transit Connect", "Cargo van"),
    ("Ram", "ProMaster 1500", "Cargo van"),
    ("Toyota", "Prius", "Car"),
    ("Honda", "Civic", "Car"),
    ("Isuzu", "NPR", "Box truck"),
    ("Chevrolet", "Express 2500", "Cargo van"),
    ("Nissan", "NV200", "Cargo van"),
];

pub(crate) const SUBMISSION_SOURCES: &[&str] = &[
    "Customer Web Portal",
    "OnTime Management Suite",
    "API",
    "OnTime Mobile",
];

pub(crate) const DEPARTMENTS: &[&str] = &[
    "Accounting",
    "Shipping",
    "Front Office",
    "Laboratory",
    "Legal",
    "Purchasing",
];

/// The word lists a [`SeedVersion`](crate::SeedVersion) draws seeded data from.
pub(crate) struct Words {
    pub first_names: &'static [&'static str],
    pub last_names: &'static [&'static str],
    pub company_first: &'static [&'static str],
    pub company_second: &'static [&'static str],
    pub streets: &'static [&'static str],
    pub street_kinds: &'static [&'static str],
    pub cities: &'static [City],
    pub zones: &'static [&'static str],
    pub item_descriptions: &'static [&'static str],
    pub order_comments: &'static [&'static str],
    pub vehicle_models: &'static [(&'static str, &'static str, &'static str)],
    pub submission_sources: &'static [&'static str],
    pub departments: &'static [&'static str],
}

/// Version 1's lists: the constants above, frozen. Changing one changes every V1 account (and
/// every snapshot taken from one); new words go into a new version with lists of its own.
pub(crate) static V1: Words = Words {
    first_names: FIRST_NAMES,
    last_names: LAST_NAMES,
    company_first: COMPANY_FIRST,
    company_second: COMPANY_SECOND,
    streets: STREETS,
    street_kinds: STREET_KINDS,
    cities: CITIES,
    zones: ZONES,
    item_descriptions: ITEM_DESCRIPTIONS,
    order_comments: ORDER_COMMENTS,
    vehicle_models: VEHICLE_MODELS,
    submission_sources: SUBMISSION_SOURCES,
    departments: DEPARTMENTS,
};

#[cfg(test)]
mod tests {
    use super::*;

    /// FNV-1a over every list of a version, in order (a stable fingerprint, unlike `Hash`).
    fn fingerprint(w: &Words) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut feed = |s: &str| {
            for b in s.bytes().chain([0]) {
                h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        };
        let lists = [
            w.first_names,
            w.last_names,
            w.company_first,
            w.company_second,
            w.streets,
            w.street_kinds,
            w.zones,
            w.item_descriptions,
            w.order_comments,
            w.submission_sources,
            w.departments,
        ];
        for list in lists {
            list.iter().for_each(|s| feed(s));
            feed("\u{1}");
        }
        for c in w.cities {
            feed(c.name);
            feed(c.state);
            c.postal_codes.iter().for_each(|s| feed(s));
            feed(&format!("{} {} {}", c.lat, c.lng, c.zone));
        }
        for (a, b, c) in w.vehicle_models {
            [a, b, c].iter().for_each(|s| feed(s));
        }
        h
    }

    #[test]
    fn version_1_word_lists_are_frozen() {
        assert_eq!(
            fingerprint(&V1),
            V1_FINGERPRINT,
            "V1's word lists changed: that rewrites every V1 account; add a SeedVersion instead"
        );
    }

    const V1_FINGERPRINT: u64 = 0x924b9c64db7ff0ca;
}
