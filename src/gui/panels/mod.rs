//! One file per screen; each draws from the [`Model`](super::model::Model) and asks for work by
//! pushing jobs, never doing I/O itself.

pub mod activate;
pub mod allocations;
pub mod history;
pub mod offline;
pub mod overview;
pub mod sessions;
pub mod settings;
pub mod users;
