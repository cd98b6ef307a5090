//! (being written)

#[allow(unused_imports)]
use crate::Tx;
