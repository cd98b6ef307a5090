//! The Bunker service.
