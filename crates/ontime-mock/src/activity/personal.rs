//! Known personal values for data-minimisation tests: the activity puts them where an OnTime
//! account holds personal data (driver records, status descriptions, driver status text), so a
//! test can scan everything a sync layer sent or logged for them.

/// One driver's known details: they replace a seeded driver's name, phone and e-mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownPerson {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Phone (the user's mobile and SMS number).
    pub phone: String,
    /// E-mail address.
    pub email: String,
}

impl KnownPerson {
    /// First and last name, as status descriptions write it.
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

/// Personal values the activity seeds ([`ActivityConfig::personal`](super::ActivityConfig::personal)).
///
/// - `drivers[i]` replaces the i-th seeded driver's first and last name, mobile and SMS number
///   and e-mail (drivers beyond the list keep their generated details);
/// - status descriptions name drivers as before, now with these names, and add their phone and
///   e-mail where a dispatcher would note them (assignments, transfers, failed attempts);
/// - deliveries are "signed by" `signers[order % signers.len()]` instead of the delivery
///   contact;
/// - a driver's availability text (`CurrentStatus`) names the driver with phone or e-mail.
///
/// Nothing random is drawn for it: with or without personal values the activity makes the
/// same changes at the same times ([`TruthChange`](super::TruthChange)s are equal).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonalData {
    /// Drivers' details, applied to the seeded drivers in order.
    pub drivers: Vec<KnownPerson>,
    /// Who signs for deliveries.
    pub signers: Vec<String>,
}

impl PersonalData {
    /// Six drivers and four signers with made-up, distinctive values (names that no seed word
    /// list contains, phone numbers from the 555-01xx fiction range, `.example` e-mails).
    pub fn sample() -> Self {
        let person = |first: &str, last: &str, phone: &str| KnownPerson {
            first_name: first.to_owned(),
            last_name: last.to_owned(),
            phone: phone.to_owned(),
            email: format!(
                "{}.{}@personal.example",
                first.to_ascii_lowercase(),
                last.to_ascii_lowercase()
            ),
        };
        Self {
            drivers: vec![
                person("Zebulon", "Quarrington", "+1-214-555-0101"),
                person("Philippa", "Vandermolen", "+1-214-555-0102"),
                person("Octavius", "Brightwater", "+1-214-555-0103"),
                person("Marisol", "Kettleborough", "+1-214-555-0104"),
                person("Leopold", "Ashcombe", "+1-214-555-0105"),
                person("Henrietta", "Wolstenholme", "+1-214-555-0106"),
            ],
            signers: vec![
                "Cordelia Fairweather".to_owned(),
                "Ignatius Pemberton".to_owned(),
                "Rosalind Thistlewood".to_owned(),
                "Barnaby Huxtable".to_owned(),
            ],
        }
    }

    /// Every value a scan should look for: each driver's first name, last name, full name,
    /// phone and e-mail, and each signer.
    pub fn values(&self) -> Vec<String> {
        let mut out = Vec::new();
        for p in &self.drivers {
            out.extend([
                p.first_name.clone(),
                p.last_name.clone(),
                p.full_name(),
                p.phone.clone(),
                p.email.clone(),
            ]);
        }
        out.extend(self.signers.iter().cloned());
        out
    }

    /// The signer of the `n`-th order's delivery, if signers are given.
    pub(crate) fn signer(&self, n: usize) -> Option<&str> {
        (!self.signers.is_empty()).then(|| self.signers[n % self.signers.len()].as_str())
    }
}
