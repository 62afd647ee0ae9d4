//! The OnTime 360 simulator (work in progress).
