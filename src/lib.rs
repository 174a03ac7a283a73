//! The Tenure app: the workstation CLI ([`cli`]) and the eframe desktop window ([`gui`]), both
//! thin layers over `tenure_client::Workstation`.

pub mod cli;
pub mod gui;
