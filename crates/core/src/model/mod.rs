//! The normalized records Gatehouse stores, whatever provider they came from.

mod action;
mod directory;
mod events;
mod policy;
mod raw;
mod signal;
mod tenancy;

pub use action::*;
pub use directory::*;
pub use events::*;
pub use policy::*;
pub use raw::{RawEvent, RawJson, RawRecord};
pub use signal::*;
pub use tenancy::*;
