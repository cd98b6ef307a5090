//! Restore testing plans, selections and the jobs that restore and validate.
