//! Restore testing: plans that regularly restore recent recovery points into scratch
//! locations, validate the data, record the result and clean up.
