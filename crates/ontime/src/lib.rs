//! The OnTime 360 facade (work in progress).
